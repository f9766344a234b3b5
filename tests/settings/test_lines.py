"""The `lines` section: several phone lines, each line's view of the config, and every
problem of a broken list reported at once with its line number."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from firmware.cli import main
from firmware.settings import DEFAULT_LINE_NAME, for_line, line_list, parse

from .conftest import MINIMAL, found

# MINIMAL plus a node only the second line's entry reaches (so it must count as reached)
TWO_ENTRIES = MINIMAL + """\
    desk:
      type: menu
      prompt: hello
      options: {"1": bye}
      operator_key: null
      final: bye
"""

LINES = """\
line:
  rings: 3
  transfer: conference
lines:
  - name: front
    backend: modem
    device: /dev/ttyACM0
  - name: back
    backend: fxo
    device: hw:1
    rings: 5
    transfer: transfer
    entry: desk
"""


def test_the_one_line_form_is_a_single_line_named_line1() -> None:
    settings = parse(MINIMAL)
    (only,) = line_list(settings)
    assert only.name == DEFAULT_LINE_NAME == "line1"
    assert (only.backend, only.device, only.rings, only.entry) == ("sim", None, 2, None)
    assert for_line(settings, "line1") is settings  # the one-line form is the config itself


def test_each_line_sees_its_own_backend_rings_transfer_and_entry() -> None:
    settings = parse(TWO_ENTRIES + LINES)
    front, back = line_list(settings)
    assert (front.name, front.backend, front.device, front.rings, front.transfer) == \
        ("front", "modem", "/dev/ttyACM0", 3, "conference")
    assert (back.rings, back.transfer, back.entry, back.board) == (5, "transfer", "desk", "ivrbox-fxo-ref")
    view = for_line(settings, "back")
    assert (view.line.backend, view.line.device, view.line.rings, view.line.transfer) == \
        ("fxo", "hw:1", 5, "transfer")
    assert view.flow.entry == "desk" and settings.flow.entry == "main"
    assert for_line(settings, "front").flow.entry == "main"
    assert for_line(settings, "front").line.rings == 3
    assert for_line(settings, "web-test") is settings


def test_a_node_reached_only_from_a_lines_entry_is_reached() -> None:
    parse(TWO_ENTRIES + LINES)  # no "never reached" for desk
    problems = found(TWO_ENTRIES)
    assert [p[1] for p in problems] == ["flow.nodes.desk"]


def test_every_problem_of_the_lines_at_once_with_its_line() -> None:
    text = MINIMAL + textwrap.dedent("""\
        line:
          backend: modem
          device: /dev/ttyACM9
        lines:
          - name: front
            backend: modem
            device: /dev/ttyACM0
          - name: front
            backend: modem
            device: /dev/ttyACM0
          - name: third
            backend: modem
            rings: 99
            entry: mian
          - name: fourth
            backend: fxo
            device: hw:1
          - name: fifth
            backend: fxo
            device: hw:2
          - name: 9bad
            backend: sim
        """)
    problems = found(text)
    lines = text.splitlines()

    def line_of(fragment: str, after: int = 0) -> int:
        return next(i + 1 for i, t in enumerate(lines) if i + 1 > after and fragment in t)

    start = line_of("lines:")
    expected = {
        (line_of("backend: modem"), "line.backend"),
        (line_of("device: /dev/ttyACM9"), "line.device"),
        (line_of("name: front", line_of("name: front")), "lines[1].name"),
        (line_of("device: /dev/ttyACM0", line_of("device: /dev/ttyACM0")), "lines[1].device"),
        (line_of("name: third"), "lines[2].device"),  # modem without a device
        (line_of("rings: 99"), "lines[2].rings"),
        (line_of("entry: mian"), "lines[2].entry"),
        (line_of("name: fifth"), "lines[4].board"),  # the key is not written: the item's line
        (line_of("name: 9bad"), "lines[5].name"),
    }
    assert {(p[0], p[1]) for p in problems} == expected, problems
    by_path = {p[1]: p[2] for p in problems}
    assert "'front' is also line 1" in by_path["lines[1].name"]
    assert "one device can answer only one line" in by_path["lines[1].device"]
    assert "needs 'device'" in by_path["lines[2].device"]
    assert by_path["lines[2].entry"] == "no node 'mian' in flow.nodes; did you mean 'main'?"
    assert "pin map 'ivrbox-fxo-ref' is also used by line 4" in by_path["lines[4].board"]
    assert "with `lines:`" in by_path["line.backend"]
    assert all(p[0] is not None and p[0] > 0 for p in problems) and start > 0


def test_two_fxo_boards_with_their_own_pin_maps_and_two_sim_lines_are_fine() -> None:
    settings = parse(MINIMAL + textwrap.dedent("""\
        lines:
          - {name: a, backend: fxo, device: "hw:1", board: ivrbox-fxo-ref}
          - {name: b, backend: fxo, device: "hw:2", board: ivrbox-fxo-minimal}
          - {name: c}
          - {name: d}
        """))
    assert [e.name for e in line_list(settings)] == ["a", "b", "c", "d"]


def test_config_check_prints_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "two.yaml"
    bad.write_text(MINIMAL + "lines:\n  - {name: a, backend: modem, device: /dev/x}\n"
                   "  - {name: b, backend: modem, device: /dev/x}\n", encoding="utf-8")
    assert main(["config", "check", str(bad)]) == 2
    out = capsys.readouterr().out.splitlines()
    n = len(MINIMAL.splitlines()) + 3
    assert out == [f"{bad}:{n} lines[1].device: '/dev/x' is also the device of line 1: "
                   "one device can answer only one line"]
