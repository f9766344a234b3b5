"""The `ivrbox` dispatcher itself: a usage mistake is one line and exit status 2, and a
reader that leaves early (`| head`) ends the command quietly, as for every other error
a person can cause (README.md, "Commands")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.cli import EXIT_BROKEN_PIPE, main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv, prog, words", [
    ([], "ivrbox", "required: COMMAND"),
    (["nope"], "ivrbox", "invalid choice: 'nope'"),
    (["gen", "dtmf", "123"], "ivrbox gen dtmf", "required: -o/--output"),
    (["tones", "x.wav", "--country"], "ivrbox tones", "--country: expected one argument"),
    (["config"], "ivrbox config", "required: ACTION"),
    (["board", "unplug"], "ivrbox board", "invalid choice: 'unplug'"),
])
def test_usage_mistake_is_one_line_and_status_2(argv: list[str], prog: str, words: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert err.startswith(f"{prog}: ") and err.endswith(f"(see `{prog} --help`)\n")


def test_reader_leaving_early_is_no_traceback(tmp_path: Path) -> None:
    wav = tmp_path / "keys.wav"
    assert main(["gen", "dtmf", "123#", "-o", str(wav)]) == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line: every write fails
    try:
        done = subprocess.run([sys.executable, "-m", "firmware", "dtmf", "--json", str(wav)],
                              stdout=write_end, stderr=subprocess.PIPE, cwd=REPO, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr.decode() == ""
    assert done.returncode == EXIT_BROKEN_PIPE


def test_a_data_dir_the_user_may_not_read_is_one_line(tmp_path: Path) -> None:
    """On a box the data dir belongs to `ivrbox` (0750); an installer who runs
    `ivrbox status --data /var/lib/ivrbox` as the login user gets one line saying as
    whom to run it, not a PermissionError traceback."""
    data = tmp_path / "data"
    assert main(["migrate", "--data", str(data)]) == 0
    as_root = os.geteuid() == 0
    # root reads everything: then the command runs as `nobody`, as a login user would
    data.chmod(0o700 if as_root else 0o000)
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if as_root else []
    if as_root and (shutil.which("setpriv") is None
                    or subprocess.run([*prefix, sys.executable, "-c", "pass"]).returncode != 0):
        pytest.skip("this machine cannot run the interpreter as nobody")
    try:
        done = subprocess.run([*prefix, sys.executable, "-m", "firmware", "status", "--data", str(data)],
                              capture_output=True, text=True, cwd=REPO, timeout=120)
    finally:
        data.chmod(0o755)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("ivrbox status: ") and "permission denied" in done.stderr
    if as_root:
        assert "sudo -u root ivrbox" in done.stderr
