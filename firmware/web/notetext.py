"""A published version's note, in the page's language.

The history table keeps each version's note as written, and the box writes its own notes
in English ("first-run setup", "greeting main_menu (en): new text"). Stored notes stay
as they are (the API and old backups read them); the History page says the box's own
notes in the owner's language and shows a note the owner typed word for word.
"""

from __future__ import annotations

import re
from typing import Any

from firmware.web.context import N_
from firmware.web.i18n import UI_LANGUAGES

_FIXED = {
    "before the first change": N_("The settings before the first change"),
    "first boot (preseed)": N_("Settings from the first-boot file"),
    "first-run setup": N_("First-time setup"),
    "changes from the page": N_("Changes from this page"),
    "line settings": N_("Phone line settings"),
    "TTY announcement on": N_("TTY prompt turned on"),
    "TTY announcement off": N_("TTY prompt turned off"),
    "e-mail server": N_("E-mail server"),
    "e-mail turned off": N_("E-mail turned off"),
    "people": N_("People"),
    "mailboxes": N_("Mailboxes"),
    "page address": N_("Page address"),
}
_RULES = {"block": N_("Caller {number} blocked"), "vip": N_("Caller {number} made VIP"),
          "allow": N_("Caller {number} marked as known"), "none": N_("Rule for caller {number} removed")}
_GREETING = {"new text": N_("Greeting {name} ({lang}): new text"),
             "new recording": N_("Greeting {name} ({lang}): new recording"),
             "back to text": N_("Greeting {name} ({lang}): back to the text")}
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"back to version (?P<n>\d+)"), N_("Back to version {n}")),
    (re.compile(r"line (?P<name>.+) added"), N_("Line {name} added")),
    (re.compile(r"line (?P<name>.+) removed"), N_("Line {name} removed")),
    (re.compile(r"webhook (?P<name>.+) removed"), N_("Webhook {name} removed")),
    (re.compile(r"webhook (?P<name>.+)"), N_("Webhook {name}")),
]
_CALLER = re.compile(r"caller (?P<number>\S+): (?P<rule>block|vip|allow|none)")
_GREETING_NOTE = re.compile(r"greeting (?P<name>\S+) \((?P<lang>[\w-]+)\): (?P<what>new text|new recording|back to text)")


def note_text(note: str, t: Any) -> str:
    """`note` in the page's language when the box wrote it; the owner's own note as typed."""
    if note in _FIXED:
        return t(_FIXED[note])
    if m := _CALLER.fullmatch(note):
        return t(_RULES[m["rule"]]).format(number=m["number"])
    if m := _GREETING_NOTE.fullmatch(note):
        return t(_GREETING[m["what"]]).format(name=m["name"], lang=UI_LANGUAGES.get(m["lang"], m["lang"]))
    for pattern, text in _PATTERNS:
        if m := pattern.fullmatch(note):
            return t(text).format(**m.groupdict())
    return note
