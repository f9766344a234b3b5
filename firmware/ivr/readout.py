"""Read-outs as sequences of vocabulary ids: digits, numbers, dates, times, counts.

API (every function takes the language, "en" or "zh-TW", and returns ids such as
"digit-4", "num-13", "tens-40", "ord-24", "month-11", "weekday-0", "you-have"):
    digits(text, lang)                  a phone number or PIN, key by key
    number(n, lang, quantity=False)     0 .. 9999 as a spoken number (quantity: 兩 in zh)
    time_of_day(hour, minute, lang)     "three forty-five P M" / "下午 三點 四十五分" / "兩點零五分"
    day(when, today, lang)              "today" / "Monday November twenty-fourth"
    message_count(n, lang, kind)        "you have 3 new messages"

The words themselves are recorded once (audio/vocabulary.yaml, spoken into audio/<lang>/
by audio/make_vocabulary.py), so a read-out is a concatenation of short files rather
than a fresh text-to-speech run on every call.
"""

from __future__ import annotations

from datetime import date

from firmware.errors import UsageError

LANGUAGES = ("en", "zh-TW")
_KEY_IDS = {"*": "star", "#": "pound"}
TWO_OF = "two-of"  # Mandarin 兩 (English: "two")


def _check(lang: str) -> None:
    if lang not in LANGUAGES:
        raise UsageError(f"no read-outs for language '{lang}' (have: {', '.join(LANGUAGES)})")


def digits(text: str, lang: str) -> list[str]:
    _check(lang)
    ids = []
    for ch in text:
        if ch.isdigit():
            ids.append(f"digit-{ch}")
        elif ch in _KEY_IDS:
            ids.append(_KEY_IDS[ch])
    return ids


def _under_100(n: int, lang: str, *, leading: bool) -> list[str]:
    if n < 20 and (lang == "en" or leading or n < 10):
        return [f"num-{n}"]
    if n < 20:  # zh inside a larger number: 一百一十五 says "一十五"
        return ["num-1", "num-10"] + ([f"num-{n - 10}"] if n > 10 else [])
    tens, unit = divmod(n, 10)
    return [f"tens-{tens * 10}"] + ([f"num-{unit}"] if unit else [])


def _count_digit(d: int, lang: str, quantity: bool) -> str:
    """Mandarin counts two things as 兩, not 二 (兩則留言, 兩點, 兩百)."""
    return TWO_OF if (lang == "zh-TW" and quantity and d == 2) else f"num-{d}"


def number(n: int, lang: str, *, quantity: bool = False) -> list[str]:
    """`quantity`: the number counts something (messages, the hour), which changes how
    Mandarin says a leading two."""
    _check(lang)
    if not 0 <= n <= 9999:
        raise UsageError(f"can only read numbers from 0 to 9999, not {n}")
    if n == 2:
        return [_count_digit(2, lang, quantity)]
    if n < 100:
        return _under_100(n, lang, leading=True)
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    ids: list[str] = []
    if thousands:
        ids += [_count_digit(thousands, lang, quantity=True), "thousand"]
    if hundreds:
        ids += [_count_digit(hundreds, lang, quantity=True), "hundred"]
    if rest:
        # Mandarin says the zero of a skipped place: 一千零五, 一百零五, 一千零五十.
        if lang == "zh-TW" and (hundreds == 0 or rest < 10):
            ids.append("num-0")
        ids += _under_100(rest, lang, leading=False)
    return ids


def time_of_day(hour: int, minute: int, lang: str) -> list[str]:
    _check(lang)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise UsageError(f"not a time of day: {hour}:{minute:02d}")
    half = "am" if hour < 12 else "pm"
    h12 = hour % 12 or 12
    if lang == "en":
        ids = _under_100(h12, lang, leading=True)
        if minute == 0:
            ids.append("oclock")
        elif minute < 10:
            ids += ["oh", f"num-{minute}"]
        else:
            ids += _under_100(minute, lang, leading=True)
        return ids + [half]
    ids = [half] + number(h12, lang, quantity=True) + ["oclock"]
    if minute:  # 三點零五分: a single-digit minute keeps its zero
        ids += (["num-0"] if minute < 10 else []) + _under_100(minute, lang, leading=True)
        ids += ["minutes"]
    return ids


def day(when: date, today: date, lang: str) -> list[str]:
    _check(lang)
    delta = (today - when).days
    if delta == 0:
        return ["today"]
    if delta == 1:
        return ["yesterday"]
    weekday = f"weekday-{when.weekday()}"
    month = f"month-{when.month}"
    ordinal = f"ord-{when.day}"
    return [weekday, month, ordinal] if lang == "en" else [month, ordinal, weekday]


def message_count(n: int, lang: str, kind: str = "new") -> list[str]:
    _check(lang)
    if kind not in ("new", "saved"):
        raise UsageError(f"unknown message kind '{kind}'")
    if n == 0 and kind == "new":
        return ["no-new-messages"]
    noun = f"{kind}-message" if n == 1 else f"{kind}-messages"
    return ["you-have", *number(n, lang, quantity=True), noun]
