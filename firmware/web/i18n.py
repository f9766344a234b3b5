"""The page's languages: gettext catalogues (Babel .po files) and the choice of language.

API:
    UI_LANGUAGES                       {"en": "English", "zh-TW": "繁體中文"}
    Catalogues(locale_dir)             the .po files compiled in memory once, at start-up
        .translator(lang) -> gettext.NullTranslations
    pick_language(cookie, accept_language) -> "en" | "zh-TW"
    KEYWORDS                           the functions strings are marked with (`_`, `t`)

Why compile in memory: the .po text is the only source in the repository (reviewable,
diffable); Babel turns it into a catalogue at start-up in milliseconds, so no build
step can be forgotten and no stale .mo can ship.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

UI_LANGUAGES: dict[str, str] = {"en": "English", "zh-TW": "繁體中文"}
GETTEXT_LOCALE = {"zh-TW": "zh_TW"}
DOMAIN = "messages"
KEYWORDS = {"_": None, "t": None, "N_": None}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


class Catalogues:
    def __init__(self, locale_dir: Path = LOCALE_DIR):
        self._translations: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
        for lang, folder in GETTEXT_LOCALE.items():
            po = locale_dir / folder / "LC_MESSAGES" / f"{DOMAIN}.po"
            with po.open("rb") as f:
                catalog = read_po(f, locale=folder)
            buf = io.BytesIO()
            write_mo(buf, catalog)
            buf.seek(0)
            self._translations[lang] = gettext.GNUTranslations(buf)

    def translator(self, lang: str) -> gettext.NullTranslations:
        return self._translations.get(lang, self._translations["en"])


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    """The owner's explicit choice, else the browser's first language we speak."""
    if cookie in UI_LANGUAGES:
        return str(cookie)
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):  # Traditional is the Chinese we have; readable to all
            return "zh-TW"
    return "en"
