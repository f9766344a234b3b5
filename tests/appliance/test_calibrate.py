"""The line calibration call on the simulated line: key levels, twist, noise, hang-up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from firmware.cli import main
from firmware.cli.calibration import HANGUP_KEY, MOBILE_KEYS, calibration_call, store_result
from firmware.dsp.tones import beep
from firmware.line.sim import HangUp, Press, SimCaller, SimLine, Wait, WaitForSilence
from firmware.store import Store

PROMPT = np.concatenate([np.zeros(4000, np.int16), beep()])


def call(steps, country: str = "us", noise: float | None = None, **kw):
    async def go():
        line = SimLine(country)
        await line.open()
        line.incoming(SimCaller(steps, noise_dbm0=noise))
        try:
            return await calibration_call(line, PROMPT, country, **kw), line
        finally:
            await line.close()
    return asyncio.run(go())


def test_levels_twist_and_noise_are_measured() -> None:
    report, line = call([WaitForSilence(500), Press(MOBILE_KEYS, on_ms=120, off_ms=150,
                                                    dbm0=-20, twist_db=3),
                         Wait(500), HangUp("reorder")], noise=-55.0)
    assert report.missing == ""
    assert [k.digit for k in report.keys] == list(MOBILE_KEYS)
    for key in report.keys:
        assert key.low_dbm0 == pytest.approx(-20, abs=0.7)
        assert key.high_dbm0 == pytest.approx(-17, abs=0.7)
        assert key.twist_db == pytest.approx(3, abs=0.7)
        assert key.snr_db == pytest.approx(-20 + 10 * np.log10(1 + 10 ** 0.3) + 55, abs=2)
        assert key.ms == pytest.approx(120, abs=20) and key.within_spec
    assert report.noise_dbm0 == pytest.approx(-55, abs=1.5)
    assert report.hangup is not None and report.hangup.kind == "reorder"
    assert not line.is_off_hook


@pytest.mark.parametrize("country, style, kind", [
    ("us", "loop_drop", "loop_drop"), ("us", "dial_tone", "dial"), ("de", "reorder", "reorder"),
    ("uk", "reorder", "reorder"), ("tw", "dial_tone", "dial"),
])
def test_hang_up_signal_is_learned(country: str, style: str, kind: str) -> None:
    report, _ = call([WaitForSilence(500), Press(MOBILE_KEYS), HangUp(style)], country)
    assert report.hangup is not None and report.hangup.kind == kind
    assert report.hangup.after_ms < 5000


def test_an_exchange_that_says_nothing_is_learned_as_silence() -> None:
    report, _ = call([WaitForSilence(500), Press(MOBILE_KEYS), Wait(30_000)], noise=-70.0)
    assert report.hangup is not None and report.hangup.kind == "silence"


def test_missing_keys_and_bad_twist_are_reported() -> None:
    report, _ = call([WaitForSilence(500), Press("1234", twist_db=5), HangUp("loop_drop")])
    assert report.missing == "56789*0#"
    assert report.keys and not any(k.within_spec for k in report.keys)
    assert report.hangup is not None and report.hangup.kind == "loop_drop"


def test_result_is_stored_for_the_recorder(tmp_path: Path) -> None:
    report, _ = call([WaitForSilence(500), Press(MOBILE_KEYS), HangUp("reorder")])
    store = Store(tmp_path)
    store_result(store.kv, report, "us", 1234)
    saved = store.kv.get(HANGUP_KEY)
    assert saved["kind"] == "reorder" and saved["country"] == "us" and saved["learned_ms"] == 1234
    assert len(store.kv.get("line.calibration")["keys"]) == 12
    store.close()


def test_cli_on_the_simulated_line(tmp_path: Path, capsys) -> None:
    assert main(["calibrate", "--line", "sim", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "key #:" in out and "hang-up signal: reorder" in out
    store = Store(tmp_path)
    assert store.kv.get(HANGUP_KEY)["kind"] == "reorder"
    store.close()
    assert main(["calibrate", "--line", "sim", "--data", str(tmp_path),
                 "--script", "waitsilence 1; press 123; hangup"]) == 1


def test_cli_says_when_the_config_does_not_load(tmp_path: Path, capsys) -> None:
    """A wrong --config, or a box whose config is broken, is one line and status 2, not
    a calibration with the simulated line's or another country's defaults."""
    assert main(["calibrate", "--data", str(tmp_path), "--config", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml" in capsys.readouterr().err
    config = tmp_path / "config" / "current.yaml"
    config.parent.mkdir()
    config.write_text("business: {name: Shop, timezone: Asia/Taipei, country: xx}\n")
    assert main(["calibrate", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrbox calibrate: ") and "business.country" in err


@pytest.mark.parametrize("rings", ["0", "16", "two"])
def test_cli_rings_out_of_range_is_a_usage_error(rings: str, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["calibrate", "--data", str(tmp_path), "--rings", rings])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{rings}' is not a number of rings from 1 to 15" in err


def test_calibration_call_through_the_modem_emulator() -> None:
    """The same call over ModemLine and the pty emulator: keys as recorded audio, the
    hang-up as the modem's own loop-drop report."""
    from tests.line.rig_modem import make_rig

    async def go():
        rig = make_rig("us")
        await rig.start()
        await rig.line.open()

        async def far_end() -> None:
            await rig.ring(1)
            await rig.until(lambda: rig.emulator.off_hook)
            await rig.wait(1500)  # the prompt plays
            await rig.press(MOBILE_KEYS, on_ms=120, off_ms=120, dbm0=-15)
            await rig.wait(300)
            await rig.hang_up("loop_drop")

        far = asyncio.create_task(far_end())
        try:
            return await asyncio.wait_for(
                calibration_call(rig.line, PROMPT[:4000], "us", hangup_timeout_ms=8000), 60)
        finally:
            far.cancel()
            await rig.line.close()
            await rig.aclose()

    report = asyncio.run(go())
    assert report.missing == ""
    assert all(k.within_spec for k in report.keys)
    assert report.hangup is not None and report.hangup.kind == "loop_drop"
