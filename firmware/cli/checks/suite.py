"""The self-test as a whole: which checks run, in which order, with what.

API:
    box_checks(config_path, data_dir, settings=None, *, smtp_timeout_s=...) -> [Check]
        config, disk, clock, mail server: safe to run beside a running engine (the web
        page's self-test runs these)
    line_state_check(state, detail, last_error) -> Check     the engine's view of its line
    await full_selftest(config_path, data_dir, open_line, kind, device, *, with_line=True,
                        **line_kw) -> [Check]
        box checks, then the line checks on a line from `open_line(kind, device, settings)`
    exit_status(checks) -> int      0 if nothing FAILed, else 1
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware.cli.checks import Check, failed, passed, unknown
from firmware.cli.checks.smtp import SMTP_TIMEOUT_S, check_smtp
from firmware.cli.checks.system import check_clock, check_config, check_disk


def _settings(config_path: Path) -> Any:
    from firmware.errors import ConfigError
    from firmware.settings import load

    try:
        return load(config_path)
    except (ConfigError, OSError):
        return None


def box_checks(config_path: Path, data_dir: Path, settings: Any = None, *,
               smtp_timeout_s: float = SMTP_TIMEOUT_S) -> list[Check]:
    from firmware.notify.notifier import smtp_config

    results = [check_config(config_path), check_disk(data_dir), check_clock()]
    settings = settings if settings is not None else _settings(config_path)
    if settings is None:
        results.append(unknown("mail server", "not checked: the config does not load"))
    else:
        results.append(check_smtp(smtp_config(settings), smtp_timeout_s))
    return results


def line_state_check(state: str, detail: str | None, last_error: str | None) -> Check:
    name = "line (engine)"
    text = state + (f": {detail}" if detail else "")
    if state in ("idle", "ringing", "in_call"):
        return passed(name, text + (f" (last error: {last_error})" if last_error else ""))
    if state == "stopped":
        return failed(name, "the engine is not running", "`sudo systemctl start "
                      "ivrbox-engine`; `journalctl -u ivrbox-engine` says why it stopped")
    return failed(name, text, "run `ivrbox selftest` on the box (engine stopped) for the "
                  "line checks; hw/README.md, 'Troubleshooting'")


async def full_selftest(config_path: Path, data_dir: Path,
                        open_line: Callable[..., Any], kind: str | None, device: str | None,
                        *, with_line: bool = True, **line_kw: Any) -> list[Check]:
    from firmware.cli.checks.line import check_line

    settings = _settings(config_path)
    results = await asyncio.to_thread(box_checks, config_path, data_dir, settings)
    if not with_line:
        return results
    kind = kind or (settings.line.backend if settings is not None else "sim")
    device = device or (settings.line.device if settings is not None else None)
    country = settings.business.country if settings is not None else "us"
    try:
        line = open_line(kind, device, settings)
    except Exception as exc:  # noqa: BLE001 - a missing library or a bad device name
        return results + [failed("line found", f"{kind}: {exc}",
                                 "check line.backend / line.device, and `pip install "
                                 "ivrbox[hw]` for modem and FXO support")]
    return results + await check_line(line, kind, country, **line_kw)


def exit_status(checks: list[Check]) -> int:
    return 0 if all(c.ok for c in checks) else 1
