"""What a line's device and board may be: a modem an absolute /dev path, an FXO board a
sound card (ALSA) name and a known pin map; the same message from `ivrbox config check`
as on the page. Two names of one serial port (a by-id link and the port) are one device."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from firmware.cli import main
from firmware.errors import ConfigError
from firmware.settings import devices, line_list, parse

from .conftest import MINIMAL, found

BAD_MODEMS = ["spy:///dev/ttyACM0?file=/var/lib/ivrbox/ivrbox.db", "socket://10.0.0.9:7000",
              "rfc2217://host:2217", "loop://", "ttyACM0", "/var/lib/ivrbox/ivrbox.db",
              "/dev/../var/lib/ivrbox/ivrbox.db", "/dev/tty ACM0", "/dev/ttyACM0;reboot"]
GOOD_MODEMS = ["/dev/ttyACM0", "/dev/ttyUSB1", "/dev/serial/by-id/usb-U.S._Robotics_USR5637_56K-if00",
               "/dev/serial/by-path/platform-3f980000.usb-usb-0:1.2:1.0"]
BAD_CARDS = ["/dev/snd/pcmC1D0c", "spy://x", "hw:1;x", "hw:../x", "card/1", ""]
GOOD_CARDS = ["hw:1", "hw:1,0", "plughw:1,0", "hw:CARD=Device,DEV=0", "USB Audio Device", "default"]


def _one_line(backend: str, device: str, extra: str = "") -> str:
    return MINIMAL + f"line:\n  backend: {backend}\n  device: '{device}'\n{extra}"


def _lines(*items: str) -> str:
    return MINIMAL + "lines:\n" + "".join(f"  - {item}\n" for item in items)


@pytest.mark.parametrize("device", BAD_MODEMS)
def test_a_modem_is_a_path_under_dev(device: str) -> None:
    for text, path in ((_one_line("modem", device), "line.device"),
                       (_lines(f"{{name: a, backend: modem, device: '{device}'}}"), "lines[0].device")):
        problems = {p[1]: p[2] for p in found(text)}
        assert path in problems, problems
        if device:
            assert problems[path].startswith(f"'{device.strip()}' is not a serial port: use a serial port under /dev")


@pytest.mark.parametrize("device", GOOD_MODEMS)
def test_serial_ports_by_any_dev_name_are_fine(device: str) -> None:
    (entry,) = line_list(parse(_lines(f"{{name: a, backend: modem, device: '{device}'}}")))
    assert entry.device == device
    assert parse(_one_line("modem", device)).line.device == device


@pytest.mark.parametrize("device", BAD_CARDS)
def test_a_sound_card_is_an_alsa_name(device: str) -> None:
    problems = {p[1]: p[2] for p in found(_lines(f"{{name: a, backend: fxo, device: '{device}'}}"))}
    assert "lines[0].device" in problems


@pytest.mark.parametrize("device", GOOD_CARDS)
def test_alsa_names_and_card_names_are_fine(device: str) -> None:
    assert line_list(parse(_lines(f"{{name: a, backend: fxo, device: '{device}'}}")))[0].device == device


def test_a_sim_line_takes_no_url_either() -> None:
    problems = {p[1]: p[2] for p in found(_lines("{name: a, backend: sim, device: 'socket://h:1'}"))}
    assert problems["lines[0].device"].startswith("'socket://h:1' is neither")


@pytest.mark.parametrize("board", ["/etc/ivrbox/secrets.yaml", "../pinmaps/ivrbox-fxo-ref",
                                   "ivrbox-fxo-ref.yaml", "no-such-board"])
def test_a_board_is_a_known_pin_map_name(board: str, tmp_path: Path) -> None:
    for text, path in ((_one_line("fxo", "hw:1", f"  board: '{board}'\n"), "line.board"),
                       (_lines(f"{{name: a, backend: fxo, device: 'hw:1', board: '{board}'}}"), "lines[0].board")):
        problems = {p[1]: p[2] for p in found(text)}
        assert problems[path] == (f"no pin map '{board}' (known boards: ivrbox-fxo-minimal, ivrbox-fxo-ref; "
                                  "a new board's pin map goes in hw/pinmaps/<name>.yaml)")


def test_config_check_says_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "lines.yaml"
    bad.write_text(_lines("{name: a, backend: modem, device: 'spy:///dev/x?file=/tmp/y'}"), encoding="utf-8")
    assert main(["config", "check", str(bad)]) == 2
    (out,) = capsys.readouterr().out.splitlines()
    assert out.startswith(f"{bad}:{len(MINIMAL.splitlines()) + 2} lines[0].device: "
                          "'spy:///dev/x?file=/tmp/y' is not a serial port")


def test_a_by_id_link_and_its_port_are_one_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = tmp_path / "dev"
    (dev / "serial" / "by-id").mkdir(parents=True)
    (dev / "ttyACM0").touch()
    (dev / "ttyACM1").touch()
    (dev / "serial" / "by-id" / "usb-Conexant-if00").symlink_to("../../ttyACM0")
    monkeypatch.setattr(devices, "DEV", dev)
    text = _lines("{name: a, backend: modem, device: /dev/serial/by-id/usb-Conexant-if00}",
                  "{name: b, backend: modem, device: /dev/ttyACM0}")
    with pytest.raises(ConfigError) as err:
        parse(text)
    (problem,) = err.value.problems
    assert problem.path == "lines[1].device"
    assert problem.message == "'/dev/ttyACM0' is also the device of line 1: one device can answer only one line"
    parse(textwrap.dedent(text).replace("device: /dev/ttyACM0", "device: /dev/ttyACM1"))  # another port: fine
