"""List the page's strings that have no zh-TW translation (python -m tests.web.i18n_check)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from firmware.web.i18n import KEYWORDS, LOCALE_DIR

WEB = Path(__file__).resolve().parents[2] / "firmware" / "web"
METHODS = [("**/templates/**.html", "jinja2"), ("**/templates/**.svg", "jinja2"), ("**.py", "python")]


def used_strings() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(WEB), METHODS, keywords=KEYWORDS):
        if isinstance(message, str) and message:
            found.add(message)
    return found


def missing() -> list[str]:
    with (LOCALE_DIR / "zh_TW" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    have = {m.id for m in catalog if m.id and m.string}
    return sorted(used_strings() - have)


if __name__ == "__main__":
    for s in missing():
        print(repr(s))
