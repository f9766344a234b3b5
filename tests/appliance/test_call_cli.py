"""`ivrbox call`: the command itself, through `firmware.cli.main` and the installed
console script: the --json transcript (every sound the caller hears is a `prompt` event,
on the line clock), --party, --at, --caller-id/--caller-name, --withheld (a private or
unavailable caller: caller ID with the absence reason, classed and screened as such), --data,
usage errors, and
--realtime's refusals where there is no terminal or no sound device.

Calls run on the simulated line with the engine's real DTMF detector; the data dir is
real (SQLite call log, WAV messages). Text-to-speech output is kept in pytest's cache
between runs, as the engine tests do (tests/ivr/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware.appliance import Box, ConfigSource
from firmware.cli import main
from firmware.dsp.audiofile import write_wav
from tests.ivr.conftest import voice, write_config

REPO = Path(__file__).resolve().parents[2]
IVRBOX = REPO / ".venv" / "bin" / "ivrbox"
TAIPEI = dt.timezone(dt.timedelta(hours=8))  # the test flow's business zone
OPEN_AT = "2026-11-24 10:00"  # a Tuesday morning: open
CLOSED_AT = "2026-11-24 20:00"
SALES = "202"  # the test flow's sales person; as caller ID: a "known" caller
TO_VOICEMAIL = "wait 0.5; press 2; waitbeep 60; speak {msg}; press #; wait 8; hangup"


@pytest.fixture(scope="module")
def tts_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = getattr(request.config, "cache", None)
    return Path(store.mkdir("ivrbox-tts")) if store else tmp_path_factory.mktemp("tts")


@pytest.fixture
def box_files(tmp_path: Path, tts_cache: Path) -> dict[str, Path]:
    config = tmp_path / "office.yaml"
    write_config(config, {})  # tests/ivr/flows/base.yaml: menu, forward, voicemail...
    data = tmp_path / "data"
    data.mkdir()
    (data / "tts-cache").symlink_to(tts_cache, target_is_directory=True)
    msg = tmp_path / "message.wav"
    write_wav(msg, voice(2.0))
    return {"config": config, "data": data, "msg": msg}


def ivrbox_call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["call", *args])
    out, err = capsys.readouterr()
    return code, out, err


def transcript(out: str) -> list[dict]:
    events = [json.loads(line) for line in out.splitlines()]  # every line is one event
    assert events and all(isinstance(e, dict) and "event" in e and "t_ms" in e for e in events)
    return events


def in_order(events: list[dict], *wanted: dict) -> None:
    """`wanted` (partial events) appear in this order, other events between them."""
    at = 0
    for want in wanted:
        while at < len(events) and not all(events[at].get(k) == v for k, v in want.items()):
            at += 1
        assert at < len(events), f"{want} not found (in order) in {[e['event'] for e in events]}"
        at += 1


def taipei_ms(at: str) -> int:
    local = dt.datetime.strptime(at, "%Y-%m-%d %H:%M").replace(tzinfo=TAIPEI)
    return int(local.timestamp() * 1000)


def test_json_transcript_names_every_sound_from_the_busy_forward_to_the_saved_message(
        capsys: pytest.CaptureFixture[str], box_files: dict[str, Path]) -> None:
    code, out, err = ivrbox_call(
        capsys, "--config", str(box_files["config"]), "--data", str(box_files["data"]),
        "--caller-id", SALES, "--caller-name", "Anne", "--at", OPEN_AT,
        "--party", "2-02=busy", "--json", "--script", TO_VOICEMAIL.format(msg=box_files["msg"]))
    assert code == 0, err
    events = transcript(out)
    timed = [e["t_ms"] for e in events if e["t_ms"] is not None]
    assert timed == sorted(timed), timed  # the line clock only moves on
    answered = next(i for i, e in enumerate(events) if e["event"] == "answered")
    assert all(isinstance(e["t_ms"], int) for e in events[answered:-1])  # all but call_end
    in_order(events,
             {"event": "caller_id", "number": SALES, "name": "Anne"},
             {"event": "node", "node": "main", "type": "menu"},
             {"event": "prompt", "prompt": "main", "language": "en"},
             {"event": "key", "digit": "2"},
             {"event": "node", "node": "sales", "type": "forward"},
             {"event": "prompt", "prompt": "connecting"},
             {"event": "forward_result", "result": "busy"},
             {"event": "prompt", "phrase": "not_reached", "language": "en"},
             {"event": "node", "node": "busy_vm", "type": "voicemail"},
             {"event": "prompt", "phrase": "busy_greeting", "language": "en"},
             {"event": "prompt", "tone": "beep"},
             {"event": "recording", "mailbox": "general"},
             {"event": "key", "digit": "#"},
             {"event": "message_saved", "mailbox": "general"},
             {"event": "prompt", "phrase": "message_saved", "language": "en"},
             {"event": "prompt", "prompt": "goodbye"},
             {"event": "call_end", "outcome": "voicemail"})
    # no stretch of the box talking is missing: from the busy signal to the recording,
    # every gap between two events is at most one announcement long
    start = next(i for i, e in enumerate(events) if e["event"] == "forward_result")
    end = next(i for i, e in enumerate(events) if e["event"] == "recording")
    kinds = [e["event"] for e in events[start:end]]
    assert kinds.count("prompt") == 3, kinds

    # --data kept the call: the log has its row and the configured prompts, the built-in
    # sentences were transcript-only; the message is in the mailbox
    box = Box(box_files["data"], ConfigSource(box_files["config"], fallback=None))
    try:
        call_id = events[-1]["call_id"]
        row = box.store.calls.get(call_id)
        assert row is not None and row.outcome == "voicemail"
        assert (row.caller_number, row.caller_name) == (SALES, "Anne")
        assert row.started_ms == taipei_ms(OPEN_AT)  # --at: the call's wall time
        logged = [e.detail for e in box.store.calls.events(call_id) if e.kind == "prompt"]
        assert [d["prompt"] for d in logged] == ["main", "connecting", "goodbye"]
        messages = box.voicemail.list("general")
        assert len(messages) == 1 and messages[0].caller_number == SALES
    finally:
        box.close()


def test_a_party_who_answers_and_accepts_is_put_through(
        capsys: pytest.CaptureFixture[str], box_files: dict[str, Path]) -> None:
    code, out, err = ivrbox_call(
        capsys, "--config", str(box_files["config"]), "--caller-id", SALES, "--at", OPEN_AT,
        "--party", f"{SALES}=answers:wait 9; press 1; wait 10",  # after the whisper began
        "--script", "wait 0.5; press 2; wait 30; hangup")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1] == "call 1: forwarded (transferred); path: start > main > sales"
    whisper = [line for line in lines if " prompt " in line and "to=party" in line]
    assert len(whisper) == 1 and "prompt=whisper" in whisper[0] and "language=en" in whisper[0]
    assert any(" forward_result " in line and "result=accepted" in line for line in lines)


def test_at_and_caller_id_choose_the_path(capsys: pytest.CaptureFixture[str],
                                          box_files: dict[str, Path]) -> None:
    config = str(box_files["config"])
    _, closed, _ = ivrbox_call(capsys, "--config", config, "--caller-id", SALES,
                               "--at", CLOSED_AT, "--script", "wait 3; hangup")
    assert "path: start > closed" in closed.splitlines()[-1]
    # an unknown number is screened first (caller_rules.screen: [unknown])
    _, unknown, _ = ivrbox_call(capsys, "--config", config, "--caller-id", "0223456789",
                                "--at", OPEN_AT, "--script", "wait 3; hangup")
    assert unknown.splitlines()[-1].endswith("path: robot_check")


def test_a_withheld_number_is_sent_as_caller_id_and_meets_its_class_rules(
        capsys: pytest.CaptureFixture[str], box_files: dict[str, Path]) -> None:
    write_config(box_files["config"], {"caller_rules": {"screen": ["private"]},
                                       "line": {"answer": {"unavailable": "reject"}}})
    common = ("--config", str(box_files["config"]), "--data", str(box_files["data"]),
              "--at", OPEN_AT, "--json")
    code, out, err = ivrbox_call(capsys, *common, "--withheld", "private", "--caller-name", "Anne",
                                 "--script", "wait 0.5; press 5; wait 4; hangup")
    assert code == 0, err
    private = transcript(out)
    in_order(private,
             {"event": "caller_id", "number": None, "name": "Anne", "absent": "P"},  # decoded
             {"event": "answered", "caller_class": "private"},
             {"event": "node", "node": "robot_check", "type": "screen"},
             {"event": "key", "digit": "5"},
             {"event": "node", "node": "main", "type": "menu"})
    assert not any(e["event"] == "rejected" for e in private)

    code, out, err = ivrbox_call(capsys, *common, "--withheld", "unavailable",
                                 "--script", "wait 4; hangup")
    assert code == 0, err
    unavailable = transcript(out)
    in_order(unavailable,
             {"event": "caller_id", "number": None, "absent": "O"},
             {"event": "answered", "caller_class": "unavailable"},
             {"event": "rejected", "caller_class": "unavailable"},
             {"event": "call_end", "outcome": "rejected"})
    assert not any(e["event"] == "node" for e in unavailable)  # not screened: private only

    box = Box(box_files["data"], ConfigSource(box_files["config"], fallback=None))
    try:  # the call log keeps the reason the line's caller ID gave
        rows = [box.store.calls.get(e[-1]["call_id"]) for e in (private, unavailable)]
        assert [(r.caller_number, r.caller_absent) for r in rows] == [(None, "P"), (None, "O")]
    finally:
        box.close()

    with pytest.raises(SystemExit) as refused:  # argparse's own one line, status 2
        main(["call", "--withheld", "secret", "--script", "wait 1"])
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "--withheld: invalid choice: 'secret'" in err
    assert "'private', 'unavailable'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "says"), [
    ([], "give --script, or --realtime"),
    (["--script", "wait 1", "--withheld", "private", "--caller-id", "0223456789"],
     "--withheld private and --caller-id 0223456789: a withheld number is not sent"),
    (["--script", "wait 1", "--at", "tomorrow at 10"], "--at 'tomorrow at 10': write it as YYYY-MM-DD HH:MM"),
    (["--script", "wait 1", "--party", "202=picks_up"], "--party '202=picks_up': use NUMBER=answers"),
    (["--script", "wait 1", "--party", "2.04=busy"], "--party '2.04=busy': 204 is not the number of anyone"),
    (["--script", "wait 1; dance"], "unknown step 'dance'"),
    (["--script", "speak /no/such/file.wav"], "/no/such/file.wav: cannot read audio"),
])
def test_bad_options_get_one_clear_line_and_status_2(
        capsys: pytest.CaptureFixture[str], box_files: dict[str, Path], args: list[str],
        says: str) -> None:
    code, out, err = ivrbox_call(capsys, "--config", str(box_files["config"]), *args)
    assert code == 2
    assert err.startswith("ivrbox call: ") and says in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_installed_command_prints_json_lines(box_files: dict[str, Path]) -> None:
    done = subprocess.run(
        [str(IVRBOX), "call", "--config", str(box_files["config"]), "--data", str(box_files["data"]),
         "--caller-id", SALES, "--at", OPEN_AT, "--json",
         "--script", "wait 0.5; press 7; wait 0.5; press 8; wait 12; hangup"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    events = transcript(done.stdout)
    in_order(events,
             {"event": "node", "node": "lang", "type": "language"},
             {"event": "language", "language": "zh-TW"},
             {"event": "prompt", "prompt": "main", "language": "zh-TW"})
    assert "主選單" not in done.stdout  # what was said is named, never the words themselves


def test_realtime_paces_a_scripted_call_to_the_wall_clock(
        capsys: pytest.CaptureFixture[str], box_files: dict[str, Path]) -> None:
    script_s = 2.0
    started = time.monotonic()
    code, out, err = ivrbox_call(capsys, "--config", str(box_files["config"]), "--caller-id", SALES,
                                 "--at", OPEN_AT, "--realtime", "--json",
                                 "--script", f"wait {script_s}; hangup")
    took = time.monotonic() - started
    assert code == 0, err
    events = transcript(out)
    hung_up = next(e for e in events if e["event"] == "caller_hangup")
    assert hung_up["t_ms"] >= script_s * 1000 - 100
    assert took >= hung_up["t_ms"] / 1000  # a second of the call took a second


def _realtime_in_a_terminal(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`ivrbox call --realtime` with a pseudo-terminal as its keyboard."""
    leader, follower = pty.openpty()
    try:
        return subprocess.run([sys.executable, "-m", "firmware", "call", "--config", str(config),
                               "--realtime"], stdin=follower, capture_output=True, text=True,
                              timeout=120, cwd=REPO, env=env)
    finally:
        os.close(follower)
        os.close(leader)


def test_realtime_without_a_terminal_refuses(box_files: dict[str, Path]) -> None:
    done = subprocess.run([str(IVRBOX), "call", "--config", str(box_files["config"]), "--realtime"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "its input is not a terminal" in done.stderr and "--script" in done.stderr
    assert "Traceback" not in done.stderr


def test_realtime_without_a_player_refuses(box_files: dict[str, Path], tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = _realtime_in_a_terminal(box_files["config"], {**os.environ, "PATH": str(empty)})
    assert done.returncode == 2, done.stderr
    assert "no 'play' (sox) or 'aplay' (alsa-utils) found" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(shutil.which("play") is None, reason="sox's play is not installed")
def test_realtime_without_a_sound_device_refuses(box_files: dict[str, Path], tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # only sox's real player, pointed at a device that does not exist
    bin_dir.mkdir()
    (bin_dir / "play").symlink_to(shutil.which("play"))  # type: ignore[arg-type]
    env = {**os.environ, "PATH": str(bin_dir), "AUDIODEV": "ivrbox-test-no-such-device"}
    done = _realtime_in_a_terminal(box_files["config"], env)
    assert done.returncode == 2, done.stderr
    assert "no sound device could be opened: 'play'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
