"""Config problems in the page's language: the checker's English messages, mapped.

API:
    say(message, t) -> str     the message as the owner should read it (translated when
                               one of the known shapes matches, else the English as is)

The checker (`firmware.settings`, the same code as `ivrbox config check`) speaks to
installers in English with config paths. The page shows each message beside its field,
so here the common shapes are recognised by pattern and re-said in plain words, with
the names they carry filled in. An unknown shape is shown untouched: never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from firmware.web.context import N_
from firmware.web.i18n import UI_LANGUAGES

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"^missing \(required\)$", N_("Required.")),
    (r"^no node '(?P<name>[^']+)'", N_("There is no step '{name}'.")),
    (r"^node '(?P<name>[^']+)' is never reached", N_("No call ever reaches '{name}': choose it as a destination somewhere, or delete it.")),
    (r"^this path never ends for a caller who presses nothing \((?P<loop>[^)]*)\)",
     N_("A caller who presses nothing goes round for ever ({loop}): send one of these to voicemail or to hang up.")),
    (r"^no prompt '(?P<name>[^']+)'", N_("There is no greeting '{name}'.")),
    (r"^prompt '(?P<name>[^']+)' has no (?P<langs>.+) text or file$",
     N_("The greeting '{name}' has no words or recording for {langs}.")),
    (r"^choice '(?P<key>[^']+)' starts with '(?P<first>.)', which is this menu's (?P<field>\w+)",
     N_("Key {key} is already this menu's {field}: choose another key.")),
    (r"^'(?P<key>.)' is also (?P<field>\w+)$", N_("Key {key} is also used for {field}.")),
    (r"^back key '(?P<key>.)' is also the first key of choice '(?P<choice>[^']+)'",
     N_("Key {key} already starts the choice {choice}: choose another key to go back, or Off.")),
    (r"^operator key '(?P<key>.)' has no target", N_("Key {key} should reach the operator, but there is no operator step: choose one.")),
    (r"^language '(?P<langs>[^']+)' is not in business\.languages", N_(
        "{langs} is not one of the business's languages, so callers cannot be spoken to in it: choose another.")),
    (r"^'(?P<v>[^']*)' is not allowed: use 'en' or 'zh-TW'$", N_("'{v}' is not a language the box speaks: choose English or 繁體中文.")),
    (r"^key '(?P<key>[^']*)': String should match pattern '\^\[0-9\*#\]\$'", N_("'{key}' is not one phone key: use one of 0-9, * or #.")),
    (r"^no person '(?P<name>[^']+)'", N_("There is no person '{name}' to forward to.")),
    (r"^no mailbox '(?P<name>[^']+)'", N_("There is no mailbox '{name}'.")),
    (r"^should be greater than or equal to (?P<n>[-\d.]+)", N_("Must be at least {n}.")),
    (r"^should be less than or equal to (?P<n>[-\d.]+)", N_("Must be at most {n}.")),
    (r"^should be greater than (?P<n>[-\d.]+)", N_("Must be more than {n}.")),
    (r"^should be less than (?P<n>[-\d.]+)", N_("Must be less than {n}.")),
    (r"^should be a valid (number|integer)", N_("Must be a number.")),
    (r"^should be a valid date(time)?", N_("Not a valid date.")),
    (r"^should match pattern '\^\[0-9\*#\]\{1,4\}\$'", N_("Keys are 1 to 4 of 0-9, * and #.")),
    (r"^should match pattern '\^\[0-9\*#\]\$'", N_("One key: 0-9, * or #.")),
    (r"^(String )?should match pattern '\^\[0-9\]\{1,(?P<n>\d+)\}\$'", N_("Digits only, at most {n}.")),
    (r"^'(?P<v>[^']*)' is not an e-mail address", N_("'{v}' is not an e-mail address.")),
    (r"^'' is not a valid name", N_("Required.")),
    (r"^'(?P<v>[^']*)' is not a valid name", N_("'{v}' is not a valid name: start with a letter, then letters, digits, _ or -.")),
    (r"^'[^']*' is not an http:// or https:// address", N_("Write an address starting with http:// or https://.")),
    (r"^put no user name or password in the address", N_("Put no user name or password in the address.")),
    (r"^give exactly one of 'table'", N_("Choose a table or write a web address (one of the two).")),
    (r"^min_digits must not be more than max_digits", N_("Must not be fewer than the fewest digits.")),
    (r"^'(?P<v>[^']*)' is not a time", N_("'{v}' is not a time: write HH:MM.")),
    (r"^'(?P<v>[^']*)' starts and ends at once", N_("A range must not start and end at the same time.")),
    (r"^(?P<day>[a-z]{3}) is in both", N_("{day} is listed twice.")),
    (r"^'to' is before 'from'", N_("The last day is before the first day.")),
    (r"^'to' must be after 'from'", N_("The end must be after the start.")),
    (r"^give either 'date' or both 'from' and 'to'", N_("Give a date.")),
    (r"^should be at least 1 character", N_("Required.")),
    (r"^'(?P<device>[^']*)' is not a serial port: use", N_(
        "'{device}' is not a serial port: choose one that was found, or type its name under /dev, e.g. "
        "/dev/ttyACM0 or /dev/serial/by-id/usb-…")),
    (r"^'(?P<device>[^']*)' is not a sound card: use", N_(
        "'{device}' is not a sound card: choose one that was found, or type e.g. hw:1, plughw:1,0 or the "
        "card's name.")),
    (r"^'(?P<device>[^']*)' is neither a serial port", N_(
        "'{device}' is neither a serial port (/dev/ttyACM0) nor a sound card (hw:1).")),
    (r"^no pin map '(?P<board>[^']*)' \(known boards: (?P<known>[^;]*);", N_(
        "There is no pin map '{board}': choose one of {known}.")),
    (r"^answering at ring 1 comes before caller ID", N_(
        "Answer after 2 rings or more: this line sends the caller's number after the first ring, so "
        "answering at once would lose it and the caller rules would never apply.")),
))


def say(message: str, t: Callable[[str], str]) -> str:
    for pattern, template in _SHAPES:
        m = pattern.match(message)
        if m:
            found = m.groupdict()
            if "langs" in found:  # "en, zh-TW" -> "English, 繁體中文": the owner knows no codes
                found["langs"] = ", ".join(UI_LANGUAGES.get(code, code) for code in found["langs"].split(", "))
            return t(template).format(**found)
    return message
