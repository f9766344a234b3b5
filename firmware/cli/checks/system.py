"""Checks of the box itself: free disk space, clock synchronised, config valid.

API:
    check_disk(data_dir, min_free_mb=MIN_FREE_MB) -> Check
    check_clock(run=subprocess.run) -> Check      via `timedatectl show -p NTPSynchronized`
    check_config(path) -> Check                   the published config loads

Why the clock matters: caller-ID carries no year and the office hours are read from the
clock, so a Pi without a real-time clock that never reached an NTP server answers with
the wrong greeting. `timedatectl` is asked rather than `adjtimex` because it is what
systemd-timesyncd (Raspberry Pi OS's default) reports through; where it is missing (a
container, a chroot) the answer is "unknown", not a failure.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware.cli.checks import Check, failed, passed, unknown

MIN_FREE_MB = 200  # about 3 hours of 8 kHz 16-bit messages, plus a release update
TIMEDATECTL_TIMEOUT_S = 5.0


def check_disk(data_dir: Path, min_free_mb: int = MIN_FREE_MB) -> Check:
    name = "disk space"
    path = Path(data_dir)
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    free_mb = usage.free / 1e6
    detail = f"{free_mb / 1000:.1f} GB free of {usage.total / 1e9:.1f} GB at {data_dir}"
    if free_mb < min_free_mb:
        return failed(name, detail, f"free at least {min_free_mb} MB: delete old messages on "
                      "the web page (Messages), or move to a larger SD card")
    return passed(name, detail)


def check_clock(run: Callable[..., Any] = subprocess.run) -> Check:
    name = "clock synchronised"
    try:
        out = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                  capture_output=True, text=True, timeout=TIMEDATECTL_TIMEOUT_S)
    except (FileNotFoundError, PermissionError):
        return unknown(name, "unknown: timedatectl is not installed here")
    except subprocess.TimeoutExpired:
        return unknown(name, "unknown: timedatectl did not answer")
    value = (out.stdout or "").strip().lower()
    if out.returncode != 0 or value not in ("yes", "no"):
        reason = (out.stderr or "").strip().splitlines()[:1] or ["no answer"]
        return unknown(name, f"unknown: timedatectl could not say ({reason[0]})")
    if value == "yes":
        return passed(name, "synchronised with a time server (NTP)")
    return failed(name, "not synchronised: office hours and caller-ID dates may be wrong",
                  "connect the box to a network that reaches the internet (or a local NTP "
                  "server in /etc/systemd/timesyncd.conf), then wait a minute; "
                  "`timedatectl timesync-status` shows what it tried")


def check_config(path: Path) -> Check:
    from firmware.errors import ConfigError
    from firmware.settings import load

    name = "config valid"
    if not Path(path).is_file():
        return failed(name, f"no config at {path}", "run `ivrbox run` once (it writes the "
                      "default config), or restore a backup with `ivrbox restore FILE`")
    try:
        settings = load(path)
    except ConfigError as exc:
        first = exc.problems[0] if exc.problems else "invalid"
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return failed(name, f"{first}{more}", f"`ivrbox config check {path}` lists every "
                      "problem; fix them on the web page or roll back to an older version")
    except OSError as exc:
        return failed(name, f"cannot read {path}: {exc.strerror or exc}",
                      "check the data dir's permissions (owner ivrbox)")
    return passed(name, f"{path} ({settings.business.name}, country "
                  f"{settings.business.country}, line {settings.line.backend})")
