"""The FXO board's line-state inputs turned into findings: far-end hang-up, polarity
reversal, line lost, an extension picked up, the button.

API:
    Debounce(level, hold_s)         .change(t, level); .tick(now) -> (level, at) | None;
                                    .resync(level, t); .stable; .raw
    Finding(kind, at, detail)       kinds: "loop_drop", "polarity", "line_lost",
                                    "line_back", "extension_off_hook", "button"
    LineSense(levels, *, loop_drop_ms=LOOP_DROP_MS)
        levels: {input name: current level} for the sense inputs the board has wired
        .set_hook(off_hook, t)      our own hook changed
        .note_ring(t)               ring-detect activity (extension sense is unreliable)
        .change(name, active, t) -> [Finding]
        .tick(now) -> [Finding]

Times are seconds of the clock that stamps the edges; nothing here reads a clock.

Rules (DESIGN.md, "FXO board" and "Far-end hang-up"; DAHDI's debounce times):
- off-hook, loop current (or, if that is not wired, line voltage) absent for
  LOOP_DROP_MS: the far end hung up ("loop_drop"); exchanges open the loop for
  250-900 ms. None at all NO_LOOP_MS after we went off-hook: also "loop_drop".
- polarity changes count after POLARITY_DEBOUNCE_MS, and only while the line carries
  voltage: during a loop drop the polarity opto is dark, which is not a reversal.
- on-hook, line voltage under ~3 V for LINE_LOST_MS: "line_lost" (and "line_back").
- on-hook, not ringing, the idle-voltage sense dropping for EXTENSION_MS while the line
  is still there: another phone on the line went off-hook.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOP_DROP_MS = 500.0  # threshold inside the exchanges' 250-900 ms open-loop signal
NO_LOOP_MS = 1000.0  # off-hook this long without any loop current: no line
POLARITY_DEBOUNCE_MS = 64.0  # DAHDI
LINE_LOST_MS = 64.0  # DAHDI: battery under ~3 V this long is a disconnect
EXTENSION_MS = 64.0  # idle voltage gone this long while on-hook: extension off-hook
RING_GUARD_MS = 500.0  # ringing swings the line voltage; ignore the idle sense meanwhile
HOOK_SETTLE_MS = 300.0  # after our own hook change the line voltage settles
BUTTON_MIN_MS = 30.0  # shorter presses are contact bounce

SENSE_INPUTS = ("loop_current", "polarity", "line_voltage", "extension_sense", "button")


@dataclass(frozen=True)
class Finding:
    kind: str
    at: float
    detail: object = None


class Debounce:
    """A level that changes only after the raw input held the new value `hold_s`."""

    def __init__(self, level: bool, hold_s: float) -> None:
        self.hold_s = hold_s
        self.stable = self.raw = level
        self.since = float("-inf")

    def change(self, t: float, level: bool) -> None:
        if level != self.raw:
            self.raw, self.since = level, t

    def resync(self, level: bool, t: float) -> None:
        """Forget any pending change: the input is `level` and stable as of `t`."""
        self.stable = self.raw = level
        self.since = t

    def tick(self, now: float) -> tuple[bool, float] | None:
        if self.raw != self.stable and now - self.since >= self.hold_s:
            self.stable = self.raw
            return self.stable, self.since + self.hold_s
        return None


class LineSense:
    """Debounced line-state rules over whichever sense inputs are wired."""

    def __init__(self, levels: dict[str, bool], *, loop_drop_ms: float = LOOP_DROP_MS) -> None:
        self.wired = set(levels)
        self.raw = dict(levels)
        self.loop_drop_s = loop_drop_ms / 1000
        self.off_hook = False
        self._hook_t = float("-inf")
        self._ring_t = float("-inf")
        self._loop_armed = False
        self._loop_reported = False
        self._loop_since = float("-inf")
        self._press_t: float | None = None
        self._polarity = Debounce(levels.get("polarity", False), POLARITY_DEBOUNCE_MS / 1000)
        self._voltage = Debounce(levels.get("line_voltage", True), LINE_LOST_MS / 1000)
        self._idle = Debounce(levels.get("extension_sense", True), EXTENSION_MS / 1000)

    # -- what "the line is there" means depends on our hook ---------------------------
    def _loop_source(self) -> str | None:
        for name in ("loop_current", "line_voltage"):
            if name in self.wired:
                return name
        return None

    def _present(self) -> bool:
        source = self._loop_source() if self.off_hook else (
            "line_voltage" if "line_voltage" in self.wired else None)
        return True if source is None else self.raw[source]

    def _sync_polarity(self, t: float) -> None:
        """Feed the polarity debouncer only while the line carries voltage."""
        if "polarity" not in self.wired:
            return
        if self._present():
            self._polarity.change(t, self.raw["polarity"])
        else:
            self._polarity.resync(self._polarity.stable, t)

    # -- inputs -------------------------------------------------------------------------
    def set_hook(self, off_hook: bool, t: float) -> None:
        self.off_hook, self._hook_t = off_hook, t
        self._loop_armed = self._loop_reported = False
        source = self._loop_source()
        self._loop_since = t
        if off_hook and source is not None and self.raw[source]:
            self._loop_armed = True
        self._idle.resync(self.raw.get("extension_sense", True), t)
        self._sync_polarity(t)

    def note_ring(self, t: float) -> None:
        self._ring_t = t

    def change(self, name: str, active: bool, t: float) -> list[Finding]:
        out = self.tick(t)
        if name not in self.wired or self.raw[name] == active:
            return out
        self.raw[name] = active
        if name == self._loop_source():
            self._loop_since = t
            if active and self.off_hook:
                self._loop_armed = True
                self._loop_reported = False
        if name == "line_voltage":
            self._voltage.change(t, active)
        elif name == "extension_sense":
            self._idle.change(t, active)
        elif name == "button":
            out += self._button(active, t)
        if name in ("polarity", "loop_current", "line_voltage"):
            self._sync_polarity(t)
        return out

    def _button(self, pressed: bool, t: float) -> list[Finding]:
        if pressed:
            self._press_t = t
            return []
        start, self._press_t = self._press_t, None
        if start is None or (t - start) * 1000 < BUTTON_MIN_MS:
            return []
        return [Finding("button", t, int(round((t - start) * 1000)))]

    # -- time ---------------------------------------------------------------------------
    def tick(self, now: float) -> list[Finding]:
        out: list[Finding] = []
        source = self._loop_source()
        if self.off_hook and source is not None and not self._loop_reported:
            low_for = now - self._loop_since
            if not self.raw[source] and (
                    (self._loop_armed and low_for >= self.loop_drop_s)
                    or (not self._loop_armed and now - self._hook_t >= NO_LOOP_MS / 1000)):
                at = self._loop_since + self.loop_drop_s if self._loop_armed else now
                out.append(Finding("loop_drop", at))
                self._loop_reported = True
        flipped = self._polarity.tick(now)
        if flipped is not None:
            out.append(Finding("polarity", flipped[1], flipped[0]))
        voltage = self._voltage.tick(now)
        if voltage is not None and not self.off_hook:
            out.append(Finding("line_back" if voltage[0] else "line_lost", voltage[1]))
        idle = self._idle.tick(now)
        if idle is not None and not idle[0] and self._extension_plausible(idle[1]):
            out.append(Finding("extension_off_hook", idle[1]))
        return out

    def _extension_plausible(self, at: float) -> bool:
        """An idle-voltage drop means an extension only while we are on-hook, the line
        is settled (not ringing, not just after our own hook change) and still there."""
        if self.off_hook or at - self._hook_t < HOOK_SETTLE_MS / 1000:
            return False
        if at - self._ring_t < RING_GUARD_MS / 1000:
            return False
        return self.raw.get("line_voltage", True)
