"""The FXO board's GPIO: hook relay, ring detector, line sense inputs, LEDs, a button.

API:
    PIN_NAMES                   every pin a pin map may name, with its role
    PinSpec(gpio, active_high, pull)     one pin of a pin map (frozen)
    PinMap(board, description, audio, pins, source)     a parsed pin map (frozen)
    load_pinmap(name, *, search=(PINMAP_DIR,)) -> PinMap   by board name only; raises ConfigError
    load_pinmap_file(path) -> PinMap            a file named on the command line
    parse_pinmap(text, source="<text>") -> PinMap                  raises ConfigError
    Board(pinmap, *, pin_factory=None)
        .has(name) -> bool              is this pin wired on this board?
        .watch(callback)                callback(name, active) on every input change
        .is_active(name) -> bool        an input's current level (True = active)
        .set_hook(off_hook) / .off_hook the hook relay (True = line seized)
        .set_led(name, state) / .led_state(name)    "on", "off" or "blink"
        .close()                        hook relay off (on-hook), then release every pin

This is the one module that imports gpiozero, and only inside `Board`, so the package
imports on a laptop. The pin factory is a keyword like every gpiozero device: tests pass
`gpiozero.pins.mock.MockFactory()` and drive the mock pins; on a Pi gpiozero picks lgpio
(Pi 5) or RPi.GPIO itself. No module state: two boards never share anything.

`watch` callbacks run on gpiozero's thread; the caller must hand them to its event loop
(`call_soon_threadsafe`) and return at once. Safety: the hook relay must sit on GPIO 9
or higher, which the Pi pulls down at power-on, with an external pull-down as well, so a
rebooting or crashed Pi leaves the line on-hook; `load_pinmap` refuses anything else.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from firmware.errors import ConfigError, ConfigProblem, LineError

PINMAP_DIR = Path(__file__).resolve().parents[1] / "hw" / "pinmaps"
BOARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # as firmware.settings.devices
MIN_SAFE_HOOK_GPIO = 9  # GPIO 0-8 are pulled *up* at power-on on every Pi model
MAX_GPIO = 27
LED_BLINK_ON_S = 0.25  # "blink": the line LED while ringing
LED_BLINK_OFF_S = 0.25

OUTPUTS = ("hook_relay", "led_power", "led_line", "led_message")
INPUTS = ("ring_detect", "loop_current", "polarity", "line_voltage", "extension_sense",
          "button")
REQUIRED = ("hook_relay", "ring_detect")
PIN_NAMES: dict[str, str] = {
    "hook_relay": "output: closes the DC loop (off-hook) while active",
    "ring_detect": "input: active while the ring opto-coupler conducts (pulses at the ring frequency)",
    "loop_current": "input: active while loop current flows through our hook circuit",
    "polarity": "input: active while tip is positive with respect to ring",
    "line_voltage": "input: active while the line carries more than ~3 V (a line is connected)",
    "extension_sense": "input: active while the on-hook line voltage is at idle level (~20 V and up)",
    "button": "input: active while the front-panel button is pressed",
    "led_power": "output: the power / ready LED",
    "led_line": "output: the line LED (blinks while ringing, on while off-hook)",
    "led_message": "output: the message-waiting LED",
}
LED_NAMES = ("power", "line", "message")
LED_STATES = ("off", "on", "blink")


@dataclass(frozen=True)
class PinSpec:
    gpio: int
    active_high: bool = True
    pull: str = "none"  # "up", "down" or "none" (an external resistor)


@dataclass(frozen=True)
class PinMap:
    board: str
    description: str = ""
    audio: str = ""  # default sound card name substring for this board
    pins: dict[str, PinSpec] = field(default_factory=dict)
    source: str = "<text>"


def _lines(text: str) -> dict[str, int]:
    """Dotted path -> 1-based line of each mapping key, for error messages."""
    out: dict[str, int] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = f"{prefix}.{key.value}" if prefix else str(key.value)
                out[path] = key.start_mark.line + 1
                walk(value, path)

    try:
        walk(yaml.compose(text), "")
    except yaml.YAMLError:
        pass
    return out


def _pin(name: str, raw: Any, problem: Callable[[str, str], None]) -> PinSpec | None:
    path = f"pins.{name}"
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"gpio": raw}
    if not isinstance(raw, dict):
        problem(path, "expected a mapping such as {gpio: 17, active_high: false, pull: up}")
        return None
    unknown = set(raw) - {"gpio", "active_high", "pull"}
    for key in sorted(unknown):
        problem(f"{path}.{key}", "unknown field (expected gpio, active_high, pull)")
    gpio, active_high = raw.get("gpio"), raw.get("active_high", True)
    pull = str(raw.get("pull", "none")).lower()
    ok = not unknown
    if not isinstance(gpio, int) or isinstance(gpio, bool) or not 0 <= gpio <= MAX_GPIO:
        problem(f"{path}.gpio", f"a BCM GPIO number 0-{MAX_GPIO} is required")
        ok = False
    if not isinstance(active_high, bool):
        problem(f"{path}.active_high", "must be true or false")
        ok = False
    if pull not in ("up", "down", "none"):
        problem(f"{path}.pull", "must be up, down or none")
        ok = False
    elif name in OUTPUTS and pull != "none":
        problem(f"{path}.pull", "an output has no pull; leave it out")
        ok = False
    elif (pull == "up" and active_high is True) or (pull == "down" and active_high is False):
        want = "false" if pull == "up" else "true"
        problem(f"{path}.pull", f"with pull {pull} the input is active when driven "
                f"{'low' if pull == 'up' else 'high'}: set active_high: {want} (or pull: none)")
        ok = False
    if ok and name == "hook_relay":
        if gpio < MIN_SAFE_HOOK_GPIO:
            problem(f"{path}.gpio", f"GPIO {gpio} is pulled up at power-on: a rebooting Pi "
                    f"would seize the line. Use GPIO {MIN_SAFE_HOOK_GPIO} or higher")
            ok = False
        if active_high is not True:
            problem(f"{path}.active_high", "the relay must be active high, so that the "
                    "power-on pull-down keeps it released (on-hook)")
            ok = False
    return PinSpec(gpio, active_high, pull) if ok else None


def parse_pinmap(text: str, source: str = "<text>") -> PinMap:
    """A pin map from YAML text; every problem found is reported at once."""
    problems: list[ConfigProblem] = []
    lines = _lines(text)

    def problem(path: str, message: str) -> None:
        problems.append(ConfigProblem(source, lines.get(path), path, message))

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError([ConfigProblem(source, mark.line + 1 if mark else None, "",
                                         f"not valid YAML: {exc}")]) from None
    if not isinstance(doc, dict):
        raise ConfigError([ConfigProblem(source, None, "", "a pin map is a YAML mapping")])
    for key in sorted(set(doc) - {"board", "description", "audio", "pins"}):
        problem(str(key), "unknown field (expected board, description, audio, pins)")
    if not isinstance(doc.get("board"), str) or not doc["board"]:
        problem("board", "the board's name is required")
    raw_pins = doc.get("pins")
    pins: dict[str, PinSpec] = {}
    if not isinstance(raw_pins, dict):
        problem("pins", "a mapping of pin names to GPIOs is required")
        raw_pins = {}
    for name, raw in raw_pins.items():
        if name not in PIN_NAMES:
            problem(f"pins.{name}", f"unknown pin (known: {', '.join(PIN_NAMES)})")
            continue
        spec = _pin(name, raw, problem)
        if spec is not None:
            pins[name] = spec
    for name in REQUIRED:
        if name not in raw_pins:
            problem("pins", f"'{name}' is required")
    used: dict[int, str] = {}
    for name, spec in pins.items():
        if spec.gpio in used:
            problem(f"pins.{name}.gpio", f"GPIO {spec.gpio} is also used by '{used[spec.gpio]}'")
        used.setdefault(spec.gpio, name)
    if problems:
        raise ConfigError(problems)
    return PinMap(board=doc["board"], description=str(doc.get("description", "")).strip(),
                  audio=str(doc.get("audio", "")), pins=pins, source=source)


def load_pinmap(name: str, *, search: tuple[Path, ...] = (PINMAP_DIR,)) -> PinMap:
    """A pin map by board name, looked up as `<name>.yaml` in `search`.

    Never a path: the name comes from the config (the web page edits it), and a path
    would let the parser's errors show the keys of any YAML file on the box."""
    # a set: in development the release's directory is the source tree's (venv in the repo)
    known = sorted({p.stem for d in search if d.is_dir() for p in d.glob("*.yaml")})
    text = str(name)
    if not BOARD_NAME.match(text) or text not in known:
        raise ConfigError([ConfigProblem(text, None, "",
                                         f"no such pin map (known boards: {', '.join(known) or 'none'})")])
    path = next(c for c in (d / f"{text}.yaml" for d in search) if c.is_file())
    return load_pinmap_file(path)


def load_pinmap_file(path: Path) -> PinMap:
    """A pin map from a file the operator named on the command line (`ivrbox board
    --pinmap FILE`, a board being wired), or one `load_pinmap` found."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc}")]) from None
    return parse_pinmap(text, str(path))


class Board:
    """The GPIO side of one FXO board, built from its pin map."""

    def __init__(self, pinmap: PinMap, *, pin_factory: Any = None) -> None:
        self.pinmap = pinmap
        self._watchers: list[Callable[[str, bool], None]] = []
        self._led_states = {name: "off" for name in LED_NAMES if f"led_{name}" in pinmap.pins}
        self._devices: dict[str, Any] = {}
        # gpiozero warns once per pin library it could not load; where none loads, the
        # error below says why in one line instead of a screenful of warnings
        with warnings.catch_warnings(record=True) as fallbacks:
            warnings.simplefilter("always")
            self._open(pinmap, pin_factory, fallbacks)
        for w in fallbacks:  # a board that did open: the fallbacks are worth knowing
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    def _open(self, pinmap: PinMap, pin_factory: Any, fallbacks: list[Any]) -> None:
        from gpiozero import LED, DigitalInputDevice, DigitalOutputDevice

        try:
            relay = pinmap.pins["hook_relay"]
            self._devices["hook_relay"] = DigitalOutputDevice(
                relay.gpio, active_high=True, initial_value=False, pin_factory=pin_factory)
            for name in OUTPUTS[1:]:
                if name in pinmap.pins:
                    spec = pinmap.pins[name]
                    self._devices[name] = LED(spec.gpio, active_high=spec.active_high,
                                              initial_value=False, pin_factory=pin_factory)
            for name in INPUTS:
                if name in pinmap.pins:
                    spec = pinmap.pins[name]
                    pull_up = {"up": True, "down": False, "none": None}[spec.pull]
                    kwargs: dict[str, Any] = {"pull_up": pull_up, "pin_factory": pin_factory}
                    if pull_up is None:
                        kwargs["active_state"] = spec.active_high
                    device = DigitalInputDevice(spec.gpio, **kwargs)
                    device.when_activated = self._notifier(name, True)
                    device.when_deactivated = self._notifier(name, False)
                    self._devices[name] = device
        except Exception as exc:  # no GPIO here, pin busy, permission: one clear error
            self.close()
            tried = "; ".join(str(w.message) for w in fallbacks)
            raise LineError(f"cannot set up the GPIO pins of board '{pinmap.board}': "
                            f"{type(exc).__name__}: {exc}" + (f" ({tried})" if tried else "")) from exc

    def _notifier(self, name: str, active: bool) -> Callable[[], None]:
        def notify() -> None:  # gpiozero's thread: no blocking, no raising
            for callback in list(self._watchers):
                try:
                    callback(name, active)
                except Exception:
                    pass
        return notify

    def has(self, name: str) -> bool:
        return name in self._devices

    def watch(self, callback: Callable[[str, bool], None]) -> None:
        """Call `callback(name, active)` on every input change (gpiozero's thread)."""
        self._watchers.append(callback)

    def unwatch(self, callback: Callable[[str, bool], None]) -> None:
        if callback in self._watchers:
            self._watchers.remove(callback)

    def is_active(self, name: str) -> bool:
        if name not in INPUTS or name not in self._devices:
            raise KeyError(f"input '{name}' is not wired on board '{self.pinmap.board}'")
        return bool(self._devices[name].is_active)

    @property
    def off_hook(self) -> bool:
        relay = self._devices.get("hook_relay")
        return bool(relay is not None and relay.value)

    def set_hook(self, off_hook: bool) -> None:
        relay = self._devices["hook_relay"]
        if off_hook:
            relay.on()
        else:
            relay.off()

    def set_led(self, name: str, state: str) -> None:
        """Set LED `name` ("power", "line", "message") "on", "off" or "blink"; an LED
        the board lacks is ignored, so the line logic needs no per-board cases."""
        if name not in LED_NAMES or state not in LED_STATES:
            raise ValueError(f"LED '{name}' / state '{state}' unknown")
        led = self._devices.get(f"led_{name}")
        if led is None or self._led_states.get(name) == state:
            return
        if state == "on":
            led.on()
        elif state == "off":
            led.off()
        else:
            led.blink(on_time=LED_BLINK_ON_S, off_time=LED_BLINK_OFF_S, background=True)
        self._led_states[name] = state

    def led_state(self, name: str) -> str:
        return self._led_states.get(name, "off")

    def close(self) -> None:
        """Leave the line on-hook, then release every pin (idempotent)."""
        self._watchers.clear()
        relay = self._devices.get("hook_relay")
        if relay is not None:
            try:
                relay.off()
            except Exception:
                pass
        for device in reversed(list(self._devices.values())):
            try:
                device.close()
            except Exception:
                pass
        self._devices.clear()
