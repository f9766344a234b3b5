"""Board and pin maps: parsing with every problem reported, and the GPIO behaviour on
gpiozero's MockFactory (driven like a bench session: drive_low(), read the relay)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.board import PINMAP_DIR, Board, load_pinmap, load_pinmap_file, parse_pinmap
from firmware.errors import ConfigError

REF = "ivrbox-fxo-ref"


@pytest.mark.parametrize("path", sorted(PINMAP_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_pinmap_loads(path: Path) -> None:
    pinmap = load_pinmap(path.stem)
    assert pinmap.board == path.stem and load_pinmap_file(path) == pinmap
    assert pinmap.pins["hook_relay"].gpio >= 9 and pinmap.pins["hook_relay"].active_high


def test_the_reference_board_leaves_i2s_and_i2c_free() -> None:
    used = {spec.gpio for spec in load_pinmap(REF).pins.values()}
    assert not used & {2, 3, 18, 19, 20, 21}


def test_unknown_board_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=REF):
        load_pinmap("no-such-board")
    # in development the release's pin map directory is the source tree's: named once
    with pytest.raises(ConfigError) as err:
        load_pinmap("no-such-board", search=(PINMAP_DIR, PINMAP_DIR / ".." / "pinmaps"))
    assert str(err.value).count(f"{REF},") + str(err.value).count(f"{REF})") == 1


def _gpio_libraries_here() -> bool:
    import importlib.util

    return (any(importlib.util.find_spec(m) for m in ("lgpio", "RPi", "pigpio"))
            or Path("/proc/device-tree/model").exists())


@pytest.mark.skipif(_gpio_libraries_here(), reason="this machine has GPIO: the board opens")
def test_cli_without_gpio_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """No pin library loads (a laptop, a container): one line saying why, exit 2, not a
    warning per library gpiozero tried before the error."""
    from gpiozero import Device

    from firmware.cli import main

    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    Device.pin_factory = None
    try:
        assert main(["board", "status"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot set up the GPIO pins" in err
        assert "Falling back from lgpio" in err
    finally:
        Device.pin_factory = None


@pytest.mark.parametrize("name", ["/etc/passwd", str(PINMAP_DIR / f"{REF}.yaml"),
                                  f"../pinmaps/{REF}", f"{REF}.yaml"])
def test_a_board_is_named_never_a_path(name: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("api_key: hunter2\nother: 1\n", encoding="utf-8")
    for text in (name, str(secret)):
        with pytest.raises(ConfigError) as err:
            load_pinmap(text)
        assert "no such pin map" in str(err.value) and "api_key" not in str(err.value)


def test_all_problems_are_reported_with_lines() -> None:
    text = """\
board: bad
pins:
  hook_relay: {gpio: 4}
  ring_detect: {gpio: 17, active_high: false, pull: up}
  led_power: {gpio: 17}
  buzzer: {gpio: 12}
  loop_current: {gpio: 99}
  polarity: {gpio: 22, active_high: true, pull: up}
"""
    with pytest.raises(ConfigError) as info:
        parse_pinmap(text, "bad.yaml")
    problems = {p.path: p for p in info.value.problems}
    assert "pulled up at power-on" in problems["pins.hook_relay.gpio"].message
    assert problems["pins.hook_relay.gpio"].line == 3
    assert "active_high: false" in problems["pins.polarity.pull"].message
    assert "also used by" in problems["pins.led_power.gpio"].message
    assert "unknown pin" in problems["pins.buzzer"].message
    assert problems["pins.loop_current.gpio"].line == 7
    assert str(info.value).startswith("bad.yaml:3 pins.hook_relay.gpio")


def test_required_pins_and_relay_polarity() -> None:
    with pytest.raises(ConfigError) as info:
        parse_pinmap("board: x\npins:\n  hook_relay: {gpio: 23, active_high: false}\n")
    messages = " ".join(p.message for p in info.value.problems)
    assert "'ring_detect' is required" in messages
    assert "active high" in messages


def test_not_yaml_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_pinmap("board: [unclosed\n", "x.yaml")


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


@pytest.fixture
def board(factory: MockFactory) -> Board:
    b = Board(load_pinmap(REF), pin_factory=factory)
    yield b
    b.close()


def gpio(factory: MockFactory, name: str) -> object:
    return factory.pin(load_pinmap(REF).pins[name].gpio)


def test_relay_starts_released_and_follows_set_hook(factory: MockFactory, board: Board) -> None:
    relay = gpio(factory, "hook_relay")
    assert relay.function == "output" and relay.state is False and not board.off_hook
    board.set_hook(True)
    assert relay.state is True and board.off_hook
    board.set_hook(False)
    assert [s.state for s in relay.states] == [False, True, False]


def test_close_releases_the_relay_and_the_pins(factory: MockFactory) -> None:
    board = Board(load_pinmap(REF), pin_factory=factory)
    board.set_hook(True)
    board.close()
    relay = gpio(factory, "hook_relay")
    assert relay.state is False and relay.function == "input"
    board.close()  # idempotent
    again = Board(load_pinmap(REF), pin_factory=factory)  # pins were freed
    again.close()


def test_inputs_are_reported_with_their_active_level(factory: MockFactory, board: Board) -> None:
    seen: list[tuple[str, bool]] = []
    board.watch(lambda name, active: seen.append((name, active)))
    ring = gpio(factory, "ring_detect")
    assert not board.is_active("ring_detect")
    ring.drive_low()  # the opto conducts: active low
    assert board.is_active("ring_detect")
    ring.drive_high()
    gpio(factory, "button").drive_low()
    assert seen == [("ring_detect", True), ("ring_detect", False), ("button", True)]


def test_a_failing_watcher_does_not_stop_the_others(factory: MockFactory, board: Board) -> None:
    seen: list[str] = []

    def broken(name: str, active: bool) -> None:
        raise RuntimeError("bug in a watcher")
    board.watch(broken)
    board.watch(lambda name, active: seen.append(name))
    gpio(factory, "polarity").drive_low()
    assert seen == ["polarity"]


def test_leds(factory: MockFactory, board: Board) -> None:
    led = gpio(factory, "led_message")
    board.set_led("message", "on")
    assert led.state is True and board.led_state("message") == "on"
    board.set_led("message", "blink")
    assert board.led_state("message") == "blink"
    board.set_led("message", "off")
    assert led.state is False and board.led_state("message") == "off"
    with pytest.raises(ValueError):
        board.set_led("message", "dim")


def test_a_board_without_an_led_ignores_it(factory: MockFactory) -> None:
    board = Board(load_pinmap("ivrbox-fxo-minimal"), pin_factory=factory)
    board.set_led("message", "on")
    assert board.led_state("message") == "off" and not board.has("loop_current")
    with pytest.raises(KeyError, match="loop_current"):
        board.is_active("loop_current")
    board.close()


def test_cli_release_and_status(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from gpiozero import Device

    from firmware.cli import main

    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    try:
        assert main(["board", "release"]) == 0
        assert "on-hook" in capsys.readouterr().out
        relay = Device.pin_factory.pin(load_pinmap(REF).pins["hook_relay"].gpio)
        assert relay.state is False
        assert main(["board", "status"]) == 0
        assert "ring_detect      GPIO 17  inactive" in capsys.readouterr().out
        assert main(["board", "status", "--pinmap", "no-such-board"]) == 2
    finally:
        if Device.pin_factory is not None:
            Device.pin_factory.close()
        Device.pin_factory = None


def test_wiring_svg_is_drawn_from_the_reference_pinmap() -> None:
    import importlib.util

    import yaml

    script = PINMAP_DIR.parent / "scripts" / "draw_wiring.py"
    spec = importlib.util.spec_from_file_location("draw_wiring", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = module.draw(yaml.safe_load((PINMAP_DIR / f"{REF}.yaml").read_text()))
    svg = (PINMAP_DIR.parent / "wiring.svg").read_text()
    assert drawn == svg, "hw/wiring.svg is stale: run python hw/scripts/draw_wiring.py"
    for name, spec_ in load_pinmap(REF).pins.items():
        assert f"GPIO{spec_.gpio}<" in svg and f">{name}<" in svg
