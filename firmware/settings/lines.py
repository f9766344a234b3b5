"""Several phone lines in one box: the `lines` section, and each line's view of the config.

Contents: `LineEntry` (one item of `lines:`: name, backend, device, board, rings,
transfer, entry), `DEFAULT_LINE_NAME` ("line1"), `line_list(settings) -> tuple[LineEntry,
...]` (every line the box answers, resolved: the one-line form `line:` becomes a single
entry named "line1"), `for_line(settings, name) -> Settings` (the config as the engine of
that line sees it: its backend, device, rings and transfer in `line`, its entry node in
`flow.entry`), `line_findings(sections) -> list[Finding]` (the cross-field checks, run by
`graph.check` so they carry file:line like every other problem).

Why a view instead of teaching the engine about lines: the engine already reads its
answering policy from `settings.line` and its first node from `flow.entry` once per
call; handing each engine its own view keeps the call path unchanged and makes a
published config (new rings, a new entry) apply at each line's next call.

The `line:` section keeps what the lines share (flash, caller ID standard, answer
rules, and defaults for rings, board and transfer). With `lines:` present, backend and
device belong to each line. A running box follows a published config between calls:
a line added starts answering, a line removed or re-plugged (new backend, device or
board) stops once its call in progress ends (firmware.cli.lines_fleet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from firmware.settings.base import Model, NodeId, did_you_mean
from firmware.settings.devices import check_board, check_device, same_port

DEFAULT_LINE_NAME = "line1"
"""The name of the one line of the one-line form (`line:` without `lines:`)."""

Path = tuple[str | int, ...]
Finding = tuple[Path, str]


class LineEntry(Model):
    """One phone line of a box with several (an item of `lines:`)."""

    name: NodeId = Field(description="shown on the dashboard and in the call log, e.g. front-desk")
    backend: Literal["sim", "modem", "fxo"] = Field(
        "sim", description="sim (no hardware), modem (USB voice modem) or fxo (FXO board)")
    device: str | None = Field(
        None, min_length=1,
        description="modem: serial port (/dev/ttyACM0); fxo: sound card (hw:1); sim: unused")
    board: str | None = Field(
        None, min_length=1, description="fxo: the board's pin map; empty = line.board")
    rings: int | None = Field(None, ge=1, le=15, description="rings before answering; empty = line.rings")
    transfer: Literal["transfer", "conference"] | None = Field(
        None, description="how this line forwards calls; empty = line.transfer")
    entry: NodeId | None = Field(None, description="the node calls on this line start at; empty = flow.entry")

    @field_validator("device")
    @classmethod
    def _device_fits(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_device(info.data.get("backend"), value)

    @field_validator("board")
    @classmethod
    def _known_board(cls, value: str | None) -> str | None:
        return None if value is None else check_board(value)

    # a modem or FXO line without a device is found by `line_findings`, not a model
    # validator: pydantic skips those when a field failed, and config check must say all


def line_list(settings: Any) -> tuple[LineEntry, ...]:
    """Every line the box answers, with the `line:` section's defaults filled in."""
    line = settings.line
    if not settings.lines:
        return (LineEntry(name=DEFAULT_LINE_NAME, backend=line.backend, device=line.device,
                          board=line.board, rings=line.rings, transfer=line.transfer),)
    return tuple(
        entry.model_copy(update={"board": entry.board or line.board,
                                 "rings": entry.rings or line.rings,
                                 "transfer": entry.transfer or line.transfer})
        for entry in settings.lines
    )


def for_line(settings: Any, name: str) -> Any:
    """The config as the engine of line `name` sees it (unchanged for an unknown name,
    e.g. the one-line form, the page's test call, or a line removed since start-up)."""
    entry = next((e for e in settings.lines if e.name == name), None)
    if entry is None:
        return settings
    resolved = next(e for e in line_list(settings) if e.name == name)
    line = settings.line.model_copy(update={
        "backend": resolved.backend, "device": resolved.device, "board": resolved.board,
        "rings": resolved.rings, "transfer": resolved.transfer})
    update: dict[str, Any] = {"line": line}
    if entry.entry is not None:
        update["flow"] = settings.flow.model_copy(update={"entry": entry.entry})
    return settings.model_copy(update=update)


def line_roots(sections: Mapping[str, Any]) -> list[str]:
    """The entry nodes the lines name (roots of reachability, like VIP routes)."""
    return [e.entry for e in sections.get("lines") or () if e is not None and e.entry]


def _under(broken: frozenset[Path], *prefix: str | int) -> bool:
    return any(path[:len(prefix)] == prefix for path in broken)


def line_findings(sections: Mapping[str, Any], node_ids: frozenset[str] | None,
                  broken: frozenset[Path]) -> list[Finding]:
    """Names unique, a device for each modem/FXO line and none (nor an FXO board) used
    twice, entries that exist, and no
    backend/device in `line:` that `lines:` would silently override. `node_ids` is None
    when the flow's nodes could not be read (then entries are not checked)."""
    entries = sections.get("lines") or ()
    found: list[Finding] = []
    line = sections.get("line")
    if entries and line is not None:
        for field, default in (("backend", "sim"), ("device", None)):
            if getattr(line, field) != default:
                found.append((("line", field), (
                    f"with `lines:`, each line names its own {field}: move it into the line "
                    "it belongs to and leave it out here")))
    names: dict[str, int] = {}
    devices: dict[str, int] = {}
    boards: dict[str, int] = {}
    default_board = getattr(line, "board", None)
    for i, entry in enumerate(entries):
        if entry is None:
            continue
        here: Path = ("lines", i)
        if entry.name:
            if entry.name in names:
                found.append((here + ("name",), f"'{entry.name}' is also line {names[entry.name] + 1}: "
                              "give each line its own name"))
            else:
                names[entry.name] = i
        if entry.backend in ("modem", "fxo") and not entry.device and not _under(broken, *here, "device"):
            found.append((here + ("device",), f"backend '{entry.backend}' needs 'device' "
                          "(modem: a serial port such as /dev/ttyACM0; fxo: a sound card such as hw:1)"))
        if entry.backend in ("modem", "fxo") and entry.device and not _under(broken, *here, "device"):
            device = same_port(entry.device)
            if device in devices:
                found.append((here + ("device",), (
                    f"'{entry.device.strip()}' is also the device of line {devices[device] + 1}: one device "
                    "can answer only one line")))
            else:
                devices[device] = i
        if entry.backend == "fxo" and not _under(broken, *here, "board"):
            board = entry.board or default_board
            if board in boards:
                found.append((here + ("board",), (
                    f"the pin map '{board}' is also used by line {boards[board] + 1}: two FXO "
                    "boards need different pins (a pin map each)")))
            elif board:
                boards[board] = i
        if entry.entry and node_ids is not None and entry.entry not in node_ids:
            found.append((here + ("entry",), f"no node '{entry.entry}' in flow.nodes"
                          + did_you_mean(entry.entry, sorted(node_ids))))
    return found
