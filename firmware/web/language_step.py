"""The Menus page's form for a `language` step (the caller picks English or 中文), as plain data.

API:
    new_language(node, prompt, languages, next_id)   a new step's usable defaults
    language_rows(node) -> [(key, language)]         the step's choices as form rows
    language_options(rows) -> (options, errors)      the choices the form rows (`lang_key`,
                                                     `lang_choice`) ask for; errors by field
                                                     ("opt-<row>": "no key" / "twice" /
                                                     "no language") for what the config
                                                     cannot express (nothing is written then)

Why a module of its own: the choices are rows of key -> language, and the language of a
row is only worth offering if callers can be spoken to in it (`business.languages`); a
language outside that list is left for the config's own check to name beside the row,
so the form and `ivrbox config check` never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MAX_LANGUAGE_ROWS = 12  # one per phone key


def new_language(node: dict[str, Any], prompt: str, languages: Sequence[str], next_id: str) -> None:
    """Ask with the step's own prompt (its words typed next); key 1 for the first
    language, 2 for the second...; then `next_id`."""
    options = {str(i): lang for i, lang in enumerate(languages[:9], start=1)}
    node.update(prompt=prompt, options=options, next=next_id)


def language_rows(node: Mapping[str, Any]) -> list[tuple[str, str]]:
    options = node.get("options")
    if not isinstance(options, dict):
        return []
    return [("" if k is None else str(k), "" if v is None else str(v)) for k, v in options.items()]


def language_options(rows: Mapping[str, list[str]]) -> tuple[dict[str, str], dict[str, str]]:
    """Rows with neither key nor language are dropped; a key listed twice, a key with no
    language or a language with no key is refused; anything else goes to the validator."""
    keys, langs = rows.get("lang_key", []), rows.get("lang_choice", [])
    options: dict[str, str] = {}
    errors: dict[str, str] = {}
    for i, (key, lang) in enumerate(list(zip(keys, langs))[:MAX_LANGUAGE_ROWS]):
        key, lang = key.strip(), lang.strip()
        if not key and not lang:
            continue
        if not key:
            errors[f"opt-{i}"] = "no key"
        elif key in options:
            errors[f"opt-{i}"] = "twice"
        elif not lang:
            errors[f"opt-{i}"] = "no language"
        else:
            options[key] = lang
    return options, errors
