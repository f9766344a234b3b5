"""What a call plays, named for the transcript: every audio becomes one `prompt` event.

API:
    Heard(limit=HELD_NAMES)
        .name(audio, **what) -> audio        remember what this audio is (the last name wins)
        .take(audio) -> dict                 its name (or a part's); a description if unnamed
    spoken(text, language, recording=False) -> dict   the name of rendered text
    phrase_key(text) -> str | None           the built-in phrase `text` was made from

The code that makes audio names it (`CallContext.render`, `.prompt_audio`, `.say_words`,
`.say_phrase`); `Call.play` reports each audio as it starts, and the context turns the
name into the event. So no announcement plays silently in the transcript, even from a
module that only calls `ctx.render` and `ctx.call.play` (text is matched back to its
phrase key). Detail of a `prompt` event:
    {"prompt": id, "language": l}          a configured prompt
    {"phrase": key, "language": l}         a built-in sentence ("recording": true when an
                                           owner's recording stands in for it)
    {"words": [ids], "language": l}        a read-out from the vocabulary
    {"lookup_phrase": key, "language": l}  a lookup node's built-in sentence (its
                                           LOOKUP_PHRASES key; "wait" is the hold, noted
                                           as it starts); "lookup_phrases": [keys] for
                                           the choices offered after an entry
    {"lookup_entry": true, "language": l}  a lookup's answer read out: never its words,
                                           nor the key ("found" names the read-back too)
    {"speech": chars, "language": l}       other text (a message): its length only,
                                           never its words
    {"tone": "beep"}                       the record-after-the-tone beep
    {"audio": "other", "ms": n}            anything else (a message being listened to)
plus "to": "party" for what the person a call is forwarded to hears (the whisper).
"""

from __future__ import annotations

import re
import string
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from firmware.dsp.tones import beep
from firmware.ivr.phrases import PHRASES
from firmware.line.base import samples_to_ms

Audio = npt.NDArray[np.int16]
HELD_NAMES = 16  # audio named but not (yet) played: a hold sound, a skipped prompt


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Every built-in phrase in every language as a pattern ({name} matches anything)."""
    found = []
    for key, texts in PHRASES.items():
        for text in texts.values():
            parts = []
            for literal, field, _, _ in string.Formatter().parse(text):
                parts.append(re.escape(literal))
                if field is not None:
                    parts.append(".+?")
            found.append((key, re.compile("".join(parts) + r"\Z", re.DOTALL)))
    return tuple(found)


def phrase_key(text: str) -> str | None:
    return next((key for key, pattern in _patterns() if pattern.match(text)), None)


def spoken(text: str, language: str, recording: bool = False) -> dict[str, Any]:
    key = phrase_key(text)
    what: dict[str, Any] = ({"phrase": key, "language": language} if key is not None
                            else {"speech": len(text), "language": language})
    if recording:
        what["recording"] = True
    return what


@cache
def _beep() -> Audio:
    return beep()


class Heard:
    """Names of audio about to be played, keyed by the array itself (held, so its id
    cannot be reused while named); bounded, as some named audio is never played. A part
    of a named array (a greeting played on from where a key stopped it) has its name."""

    def __init__(self, limit: int = HELD_NAMES):
        self._limit = limit
        self._names: dict[int, tuple[Audio, dict[str, Any]]] = {}

    def name(self, audio: Audio, **what: Any) -> Audio:
        self._names.pop(id(audio), None)
        self._names[id(audio)] = (audio, what)
        while len(self._names) > self._limit:
            del self._names[next(iter(self._names))]
        return audio

    def take(self, audio: Audio) -> dict[str, Any]:
        held = self._names.get(id(audio))
        if held is not None and held[0] is audio:
            return held[1]
        memory = _owner(audio)
        for named, what in reversed(self._names.values()):
            if memory is not None and _owner(named) is memory:
                return what
        tone = _beep()
        if len(audio) == len(tone) and np.array_equal(audio, tone):
            return {"tone": "beep"}
        return {"audio": "other", "ms": int(samples_to_ms(len(audio)))}


def _owner(audio: Any) -> Any:
    """The object whose memory an array uses (numpy points a view at the owner)."""
    return audio if getattr(audio, "base", None) is None else audio.base
