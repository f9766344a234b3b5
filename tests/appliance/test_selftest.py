"""`ivrbox selftest`: each check against a real counterpart (sim exchange, pty modem
emulator, FXO fake sound card + mock pins, an aiosmtpd server), and the CLI end to end."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from firmware.cli import main
from firmware.cli.checks import FAIL, PASS, SKIP, UNKNOWN
from firmware.cli.checks.line import check_line
from firmware.cli.checks.smtp import check_smtp
from firmware.cli.checks.system import check_clock, check_config, check_disk
from firmware.dsp import tones
from firmware.line.sim import SimLine
from firmware.notify.email import SmtpConfig

REPO = Path(__file__).resolve().parents[2]


def by_name(checks: list) -> dict:
    return {c.name: c for c in checks}


# -- the line --------------------------------------------------------------------------
def test_sim_line_gives_dial_tone_and_levels() -> None:
    line = SimLine("us")
    checks = by_name(asyncio.run(check_line(line, "sim", "us")))
    assert checks["line found"].status == PASS
    assert checks["GPIO pins"].status == SKIP
    assert checks["dial tone"].status == PASS
    assert checks["audio in"].status == PASS and "-13.0 dBm0" in checks["audio in"].detail
    assert not line.is_off_hook  # hung up again
    assert line.exchange.state == "idle"


def test_sim_line_in_germany_hears_its_own_dial_tone() -> None:
    checks = by_name(asyncio.run(check_line(SimLine("de"), "sim", "de")))
    assert checks["dial tone"].status == PASS


@pytest.fixture
def emulator():
    from tests.fakes.modem_emulator import ModemEmulator

    emu = ModemEmulator("usr5637")
    emu.start()
    yield emu
    emu.stop()


def _modem(emu):
    from firmware.line.modem import ModemLine
    from tests.line.rig_modem import TEST_TIMEOUTS

    return ModemLine(emu.path, country="US", **TEST_TIMEOUTS)


def test_modem_identity_format_and_dial_tone(emulator) -> None:
    emulator.queue_audio(tones.call_progress("dial", "us", 4000))  # the exchange, off-hook
    checks = by_name(asyncio.run(check_line(_modem(emulator), "modem", "us", tone_ms=200)))
    found = checks["line found"]
    assert found.status == PASS, found
    assert "USR5637" in found.detail and "ULAW" in found.detail.upper()
    assert checks["dial tone"].status == PASS
    assert checks["audio in"].status == PASS
    assert checks["audio out"].status == PASS and "half duplex" in checks["audio out"].detail
    assert not emulator.off_hook
    assert "AT+VLS=1" in emulator.commands and emulator.tx_sessions  # off-hook, tone played


def test_modem_without_dial_tone_fails_with_a_fix(emulator) -> None:
    checks = by_name(asyncio.run(check_line(_modem(emulator), "modem", "us", tone_ms=0)))
    assert checks["dial tone"].status == FAIL
    assert "LINE socket" in checks["dial tone"].fix
    assert not emulator.off_hook


def test_modem_not_plugged_in(tmp_path: Path) -> None:
    from firmware.line.modem import ModemLine

    line = ModemLine(str(tmp_path / "ttyACM9"), country="US", response_timeout_s=0.2)
    checks = asyncio.run(check_line(line, "modem", "us", ready_timeout_s=2))
    assert [c.status for c in checks] == [FAIL]
    assert "ttyACM9" in checks[0].detail and "ls /dev/ttyACM" in checks[0].fix


def _fxo(dial: bool = True, connected: bool = True):
    from firmware.line.fxo import FxoLine
    from tests.line.rig_fxo import FxoExchange

    ex = FxoExchange("us")
    relay_change = ex.relay.on_change

    def on_relay(t: float, state: bool) -> None:  # the exchange: dial tone when seized
        relay_change(t, state)
        ex.background = ex.tone("dial") if state and dial else None

    ex.relay.on_change = on_relay
    ex.set(connected=connected)
    return ex, FxoLine(ex.audio, ex.board, country="us", clock=ex.clock)


def test_fxo_board_pins_and_dial_tone() -> None:
    ex, line = _fxo()
    checks = by_name(asyncio.run(check_line(line, "fxo", "us", tone_ms=200)))
    assert checks["line found"].status == PASS and "48000 Hz" in checks["line found"].detail
    pins = checks["GPIO pins"]
    assert pins.status == PASS and "line_voltage=on" in pins.detail
    assert checks["dial tone"].status == PASS
    assert checks["audio in"].status == PASS
    assert checks["audio out"].status == UNKNOWN  # the fake exchange returns no echo
    assert [state for _, state in ex.relay_history] == [True, False]  # off-hook, then back
    ex.close()


def test_fxo_without_line_voltage_says_plug_in_the_line() -> None:
    ex, line = _fxo(connected=False)
    checks = by_name(asyncio.run(check_line(line, "fxo", "us")))
    assert checks["GPIO pins"].status == FAIL and "LINE terminals" in checks["GPIO pins"].fix
    assert checks["dial tone"].status == FAIL
    assert not ex.relay_history  # never went off-hook on a dead line
    ex.close()


# -- the box ---------------------------------------------------------------------------
def test_disk_space(tmp_path: Path) -> None:
    assert check_disk(tmp_path).status == PASS
    low = check_disk(tmp_path, min_free_mb=10**12)
    assert low.status == FAIL and "delete old messages" in low.fix


class _Out:
    def __init__(self, rc: int, out: str, err: str = ""):
        self.returncode, self.stdout, self.stderr = rc, out, err


def test_clock_states() -> None:
    assert check_clock(lambda *a, **k: _Out(0, "yes\n")).status == PASS
    no = check_clock(lambda *a, **k: _Out(0, "no\n"))
    assert no.status == FAIL and "timesync-status" in no.fix

    def missing(*a, **k):
        raise FileNotFoundError("timedatectl")

    assert check_clock(missing).status == UNKNOWN
    assert check_clock(lambda *a, **k: _Out(1, "", "not booted with systemd")).status == UNKNOWN


def test_clock_on_this_machine_never_crashes() -> None:
    assert check_clock().status in (PASS, FAIL, UNKNOWN)


def test_config_check(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    shutil.copy(REPO / "config" / "default.yaml", good)
    assert check_config(good).status == PASS
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("country: tw", "country: xx"))
    result = check_config(bad)
    assert result.status == FAIL and "business.country" in result.detail
    assert check_config(tmp_path / "none.yaml").status == FAIL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_reachable_and_not() -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    port = _free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ok = check_smtp(SmtpConfig("127.0.0.1", port, security="none", sender="a@b.c"))
        assert ok.status == PASS, ok
        tls = check_smtp(SmtpConfig("127.0.0.1", port, security="starttls", sender="a@b.c"))
        assert tls.status == FAIL and "STARTTLS" in tls.detail
    finally:
        controller.stop()
    gone = check_smtp(SmtpConfig("127.0.0.1", port, security="none", sender="a@b.c"),
                      timeout_s=2)
    assert gone.status == FAIL and "587" in gone.fix
    assert check_smtp(None).status == UNKNOWN


# -- the command -----------------------------------------------------------------------
def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "config").mkdir(parents=True)
    shutil.copy(REPO / "config" / "default.yaml", data / "config" / "current.yaml")
    return data


def test_cli_sim_passes_and_prints_one_line_per_check(tmp_path: Path, capsys) -> None:
    data = _data(tmp_path)
    rc = main(["selftest", "--line", "sim", "--data", str(data)])
    out = capsys.readouterr().out
    lines = [l for l in out.splitlines() if l[:7].strip() in (PASS, FAIL, UNKNOWN, SKIP)]
    names = [l[8:].split(":")[0] for l in lines]
    assert names == ["config valid", "disk space", "clock synchronised", "mail server",
                     "line found", "GPIO pins", "dial tone", "audio in", "audio out"]
    clock_failed = "FAIL    clock" in out  # a real host may be unsynchronised
    assert rc == (1 if clock_failed else 0), out


def test_cli_exits_non_zero_with_the_fix(tmp_path: Path, capsys) -> None:
    rc = main(["selftest", "--line", "sim", "--data", str(tmp_path / "empty"), "--json"])
    results = json.loads(capsys.readouterr().out)
    config = next(r for r in results if r["name"] == "config valid")
    assert rc == 1 and config["status"] == FAIL and "ivrbox run" in config["fix"]


def test_cli_as_a_process(tmp_path: Path) -> None:
    data = _data(tmp_path)
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "ivrbox"), "selftest", "--line", "sim",
                           "--data", str(data), "--no-line"], capture_output=True, text=True,
                          timeout=120)
    assert "PASS    config valid" in proc.stdout
    assert "dial tone" not in proc.stdout


def test_web_selftest_is_wired(tmp_path: Path) -> None:
    from firmware.appliance import Box, ConfigSource, StatusBoard, data_config_path, web_services

    data = _data(tmp_path)
    box = Box(data, ConfigSource(data_config_path(data)))
    status = StatusBoard(box.store.data.root)
    services = web_services(box, status)
    assert services.selftest is not None
    stopped = {r.name: r for r in services.selftest()}
    assert stopped["config valid"].ok and not stopped["line (engine)"].ok
    status.set("line1", "idle")
    results = {r.name: r for r in services.selftest()}
    assert results["line (engine)"].ok and results["disk space"].ok
    box.close()
