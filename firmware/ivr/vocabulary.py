"""The read-out vocabulary: word ids (as readout.py composes them) -> text per language.

API:
    load(path=AUDIO_DIR / "vocabulary.yaml") -> dict[language, dict[id, text]]
    text_of(word_id, language) -> str

The texts live in audio/vocabulary.yaml, beside the WAV files spoken from them, so a
translator edits one file and `python audio/make_vocabulary.py` re-records them all.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from firmware.errors import UsageError

AUDIO_DIR = Path(__file__).resolve().parents[2] / "audio"
_LISTS = ("digit", "num", "ord", "month", "weekday")


def load(path: Path = AUDIO_DIR / "vocabulary.yaml") -> dict[str, dict[str, str]]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    ranges = doc["ranges"]
    result: dict[str, dict[str, str]] = {}
    for language, sections in doc.items():
        if language == "ranges":
            continue
        words: dict[str, str] = {}
        for name in _LISTS:
            first = ranges[name][0]
            for i, text in enumerate(sections[name]):
                words[f"{name}-{first + i}"] = str(text)
        for value, text in sections["tens"].items():
            words[f"tens-{value}"] = str(text)
        words.update({k: str(v) for k, v in sections["words"].items()})
        result[language] = words
    return result


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, dict[str, str]]:
    return load()


def text_of(word_id: str, language: str) -> str:
    try:
        return _vocabulary()[language][word_id]
    except KeyError:
        raise UsageError(f"no word '{word_id}' in the {language} vocabulary") from None
