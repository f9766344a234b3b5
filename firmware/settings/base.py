"""Building blocks shared by every settings section.

Contents: `Model` (the frozen, typo-refusing base of every section); `FrozenMap[K, V]`
(a read-only mapping field); the small value types the YAML uses — `NodeId`,
`PromptId`, `DtmfKey`, `Digits`, `Dialable`, `NumberPattern`, `Email`, `Language`,
`Country`, `CallerClass`, `Seconds`, `DataFile` (a recording's path inside the data
directory); and `match_number(pattern, number)`.

Everything here is immutable: lists become tuples and mappings become read-only
`MappingProxyType`s, so the call engine can share one `Settings` between calls without
anyone changing it under a running call.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

K = TypeVar("K")
V = TypeVar("V")


class Model(BaseModel):
    """Base of every settings model: frozen, and an unknown key is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _freeze(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


FrozenMap = Annotated[
    Mapping[K, V], AfterValidator(_freeze), PlainSerializer(dict, when_used="always")
]
"""A mapping field that is read-only after validation and dumps as a plain dict."""


def empty_map() -> Mapping[Any, Any]:
    """Default factory for `FrozenMap` fields."""
    return MappingProxyType({})


def _digits_from_int(value: Any) -> Any:
    """YAML reads `number: 5551234` as an int; a digit string is what we mean."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


LANGUAGES: tuple[str, ...] = ("en", "zh-TW")
Language = Literal["en", "zh-TW"]
"""A prompt language: `en` (English) or `zh-TW` (Taiwanese Mandarin, Traditional Chinese)."""

Country = Literal["us", "tw", "cn", "uk", "de", "jp"]
"""Where the line is: drives call-progress tones, ring cadence, flash length, caller ID."""

CallerClass = Literal["vip", "known", "unknown", "private", "unavailable", "blocked"]
"""How a caller is classed from caller ID (see `CallerRules`):

- `vip`: matches a `caller_rules.vip` route;
- `known`: matches `caller_rules.allow` or the number of a configured person;
- `blocked`: matches `caller_rules.block`;
- `unknown`: a number was presented but matches nothing above;
- `private`: the caller withheld the number (caller ID reason `P`);
- `unavailable`: no caller ID arrived, or "out of area" (reason `O`).
"""
CALLER_CLASSES: tuple[str, ...] = ("vip", "known", "unknown", "private", "unavailable", "blocked")

NodeId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")]
"""A flow node's id: a letter, then letters, digits, `_` or `-` (48 characters at most)."""

PromptId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")]
"""A key of the `prompts` section."""

DtmfKey = Annotated[str, BeforeValidator(_digits_from_int), Field(pattern=r"^[0-9*#]$")]
"""One phone key: `0`-`9`, `*` or `#` (quote `"*"` and `"#"` in YAML)."""

Digits = Annotated[str, BeforeValidator(_digits_from_int), Field(pattern=r"^[0-9]{1,8}$")]
"""A short run of digits a caller types (an extension, a mailbox number)."""

Seconds = Annotated[float, Field(gt=0, le=3600)]
"""A duration in seconds (the engine converts it to samples at 8 kHz)."""

MAX_DIAL_LENGTH = 32
_DIALABLE = re.compile(r"^[0-9*#][0-9*#,]*$")


_READABILITY = str.maketrans("", "", " -.()")


def _check_dialable(value: str) -> str:
    value = value.translate(_READABILITY)  # "02-2345 6789" is written for people
    if value.startswith("+"):
        raise ValueError(
            "write the number as dialled from this line, without '+': the international "
            "prefix instead (002 from Taiwan, 011 from the US, 00 in Europe)"
        )
    if not _DIALABLE.match(value):
        raise ValueError(
            f"'{value}' is not a dialable number: only digits, '*', '#' and ',' (a pause)"
        )
    if sum(c.isdigit() for c in value) < 3 or len(value) > MAX_DIAL_LENGTH:
        raise ValueError(f"'{value}' must have 3 to {MAX_DIAL_LENGTH} digits")
    return value


Dialable = Annotated[str, BeforeValidator(_digits_from_int), AfterValidator(_check_dialable)]
"""A number the box may dial: digits, `*`, `#`, and `,` for a 2 s pause; no `+`.
Spaces, dashes, dots and parentheses are allowed for reading and dropped."""

_PATTERN = re.compile(r"^\+?[0-9?]+\*?$|^\*$")


def _check_pattern(value: str) -> str:
    if not _PATTERN.match(value):
        raise ValueError(
            f"'{value}' is not a number pattern: digits, '?' for any one digit, "
            "and an optional '*' at the end for any rest (e.g. 0800*, 09????????)"
        )
    return value


NumberPattern = Annotated[str, BeforeValidator(_digits_from_int), AfterValidator(_check_pattern)]
"""A caller-ID number or pattern: digits, `?` = any one digit, trailing `*` = any rest."""


def match_number(pattern: str, number: str) -> bool:
    """True if a caller-ID `number` matches `pattern` (see `NumberPattern`).

    A leading `+` on either side is ignored, so `+886...` patterns still match numbers
    presented nationally only if written the same way; write patterns as the line
    presents them.
    """
    pattern, number = pattern.lstrip("+"), number.lstrip("+")
    prefix_only = pattern.endswith("*")
    body = pattern[:-1] if prefix_only else pattern
    if len(number) < len(body) or (not prefix_only and len(number) != len(body)):
        return False
    return all(p == "?" or p == n for p, n in zip(body, number))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"'{value}' is not an e-mail address")
    return value


Email = Annotated[str, AfterValidator(_check_email)]
"""An e-mail address (checked for shape only: something@domain.tld)."""


MAX_FILE_PATH = 200  # characters; the web page's names are about 40
AUDIO_SUFFIXES: tuple[str, ...] = (".wav",)  # what the engine plays and the web page saves
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def _check_data_file(value: str) -> str:
    """Refuse a path that would leave the data directory or could never be played: the
    engine joins it to the data dir at call time, where a bad one can only fall silent."""
    example = "write a path inside the data directory, e.g. greetings/welcome.wav"
    if not value:
        raise ValueError(f"the file name is empty: {example}, or leave the key out")
    if len(value) > MAX_FILE_PATH:
        raise ValueError(f"the file name is longer than {MAX_FILE_PATH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("the file name contains a control character")
    if value != value.strip():
        raise ValueError(f"'{value}' starts or ends with a space")
    if "\\" in value:
        raise ValueError(f"'{value}': separate folders with '/', not '\\'")
    if value.startswith(("/", "~")) or _WINDOWS_DRIVE.match(value):
        raise ValueError(f"'{value}' is an absolute path: {example}")
    parts = value.split("/")
    if ".." in parts:
        raise ValueError(f"'{value}' goes up out of the data directory ('..'): {example}")
    if "" in parts or "." in parts:
        raise ValueError(f"'{value}' has an empty or '.' folder name: {example}")
    if not value.lower().endswith(AUDIO_SUFFIXES):
        raise ValueError(
            f"'{value}' is not a {' or '.join(AUDIO_SUFFIXES)} file: record or convert it to "
            "8 kHz mono WAV (the web page converts uploads itself)"
        )
    return value


DataFile = Annotated[str, AfterValidator(_check_data_file)]
"""A recording, relative to the data directory (`greetings/welcome-en.wav`): no absolute
path, no `..`, `/` between folders, a `.wav` name of at most 200 characters."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """"; did you mean 'x'?" for the closest candidate, or "" if none is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""
