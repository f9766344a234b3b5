"""The self-test's checks: one small module per area, each returning `Check` results.

API:
    Check(name, status, detail, fix="")     one line of the report; status is PASS, FAIL,
                                            UNKNOWN (could not tell: not a failure) or
                                            SKIP (does not apply to this box)
        .ok -> bool                         False only for FAIL
        .line() -> str                      "PASS  disk space: 12.3 GB free ..."
    PASS, FAIL, UNKNOWN, SKIP
    passed(name, detail) / failed(name, detail, fix) / unknown(name, detail, fix="")
    skipped(name, detail)

Modules: `system` (disk, clock, config), `smtp` (mail server reachable), `line` (the line
backend answering, audio levels, GPIO pins, dial tone). `firmware.cli.selftest_cmd` runs
them for `ivrbox selftest`; `firmware.appliance.selftest_report` runs the ones that do not
take the line away from a running engine, for the web page.

Every failure carries the fix in words an installer can act on: that is the point of a
self-test on a box with no screen.
"""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, UNKNOWN, SKIP = "PASS", "FAIL", "UNKNOWN", "SKIP"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != FAIL

    def line(self) -> str:
        text = f"{self.status:<7} {self.name}: {self.detail}"
        if self.fix and self.status != PASS:
            text += f"\n        fix: {self.fix}"
        return text

    def as_dict(self) -> dict[str, str | bool]:
        return {"name": self.name, "status": self.status, "ok": self.ok,
                "detail": self.detail, "fix": self.fix}


def passed(name: str, detail: str) -> Check:
    return Check(name, PASS, detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, FAIL, detail, fix)


def unknown(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, UNKNOWN, detail, fix)


def skipped(name: str, detail: str) -> Check:
    return Check(name, SKIP, detail)
