"""A refused lookup table's problems, in the page's language.

The importer (`store/lookup_import.py`, `store/lookups.py`, also behind the CLI) names each
problem in English with its row ("row 3: key 'abc' must be digits only ..."). The page
shows them to the owner as a list; here the known shapes are re-said through the
catalogue (the English stays word for word), the row and the values they carry filled
in. An unknown shape is shown untouched: never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from firmware.web.context import N_

_ROW = re.compile(r"^row (?P<n>\d+): (?P<what>.*)$", re.S)
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"^key '(?P<key>.*)' must be digits only", N_("key '{key}' must be digits only (callers key it on a phone)")),
    (r"^key '(?P<key>.*)' is longer than (?P<n>\d+) digits$", N_("key '{key}' is longer than {n} digits")),
    (r"^valid_until '(?P<v>.*)' is not a date", N_(
        "valid_until '{v}' is not a date (2027-12-31 or 2027/12/31) or date-time (2027-12-31 18:00)")),
    (r"^key (?P<key>\S+) has no text to read$", N_("key {key} has no text to read")),
    (r"^key (?P<key>\S+): text longer than (?P<n>\d+) characters$", N_("key {key}: text longer than {n} characters")),
    (r"^key (?P<key>\S+) is also on row (?P<row>\d+)$", N_("key {key} is also on row {row}")),
    (r"^unknown column '(?P<col>[^']*)'", N_("unknown column '{col}' (use key, text, text_en, text_zh-TW, valid_until)")),
    (r"^\.\.\. and (?P<n>\d+) more$", N_("... and {n} more")),
    (r"^more than (?P<n>\d+) entries: split the table$", N_("more than {n} entries: split the table")),
    (r"^the table has no entries", N_("the table has no entries (a key and a text per row)")),
    (r"^not a readable \.xlsx file", N_("not a readable .xlsx file: save it again from the spreadsheet, or as CSV")),
    (r"^the file is neither UTF-8 nor Big5 text", N_("the file is neither UTF-8 nor Big5 text: save it as CSV UTF-8")),
    (r"^'(?P<f>.*)': upload a \.csv, \.tsv, \.txt or \.xlsx file$", N_("'{f}': upload a .csv, .tsv, .txt or .xlsx file")),
))


def problem_text(problem: str, t: Callable[[str], str]) -> str:
    """One importer problem as the owner should read it."""
    if m := _ROW.match(problem):
        return t("row {n}: {what}").format(n=m["n"], what=problem_text(m["what"], t))
    for pattern, template in _SHAPES:
        if m := pattern.match(problem):
            return t(template).format(**m.groupdict())
    return problem
