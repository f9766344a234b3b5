"""The config as the page edits it: draft -> validate -> atomic publish, history, rollback.

API:
    ConfigPublisher(store, path, clock_ms)
        .published_text() -> str               what the engine runs (the file)
        .published() -> Settings               parsed (raises ConfigError if someone broke it)
        .draft_text() -> str                   the owner's unpublished draft, else published
        .has_draft() -> bool
        .save_draft(text) -> list[ConfigProblem]   kept even when invalid; problems listed
        .discard_draft()
        .publish(text, note) -> int            validate, write atomically, record history
        .publish_draft(note) -> int
        .edit(change, note) -> int             change(data: dict) mutates the published
                                               document as plain data; then publish
        .edit_draft(change) -> list[ConfigProblem]
        .rollback(version) -> int              publish an old version again (new number)
        .history(limit) -> list[ConfigVersion]
    as_data(settings) -> dict / to_text(data) -> str      document <-> plain data

Publishing writes a temp file, fsyncs and renames it over `<data>/config/current.yaml`
(`firmware.store.atomic_write`), so the engine, which re-reads that file between calls,
sees the old or the new document and never half of one. Every published text is also
a row of `store.configs`, which is the history the page rolls back from. An invalid
document is never published: `ConfigError` carries every problem, located.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware.errors import ConfigError, ConfigProblem, UsageError
from firmware.settings import Settings, parse, problems
from firmware.settings.yamlio import read as read_yaml
from firmware.settings.yamlio import write as write_yaml
from firmware.store import ConfigVersion, Store, atomic_write

DRAFT_KEY = "web.config_draft"
FILENAME = "config"  # how problems name the document on the page
HISTORY_KEEP = 200  # published versions kept for rollback


def as_data(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return {"version": settings.version, **data}


def text_data(text: str) -> dict[str, Any]:
    data, _, _ = read_yaml(text)
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(FILENAME, None, "", "the document must be a mapping")])
    return data


def to_text(data: dict[str, Any]) -> str:
    return write_yaml(data)


class ConfigPublisher:
    def __init__(self, store: Store, path: Path, clock_ms: Callable[[], int]):
        self.store = store
        self.path = Path(path)
        self.clock_ms = clock_ms
        self._lock = threading.Lock()  # one publish at a time within this process

    # -- reading -------------------------------------------------------------------------
    def published_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            latest = self.store.configs.latest()
            if latest is None:
                raise UsageError(f"no published config at {self.path}") from None
            return latest.text

    def published(self) -> Settings:
        return parse(self.published_text(), FILENAME)

    def draft_text(self) -> str:
        draft = self.store.kv.get(DRAFT_KEY)
        return draft if isinstance(draft, str) else self.published_text()

    def has_draft(self) -> bool:
        draft = self.store.kv.get(DRAFT_KEY)
        return isinstance(draft, str) and draft != self.published_text()

    # -- drafts --------------------------------------------------------------------------
    def save_draft(self, text: str) -> list[ConfigProblem]:
        self.store.kv.set(DRAFT_KEY, text)
        return problems(text, FILENAME)

    def discard_draft(self) -> None:
        self.store.kv.delete(DRAFT_KEY)

    def edit_draft(self, change: Callable[[dict[str, Any]], None]) -> list[ConfigProblem]:
        data = text_data(self.draft_text())
        change(data)
        return self.save_draft(to_text(data))

    # -- publishing ----------------------------------------------------------------------
    def publish(self, text: str, note: str) -> int:
        """Validate `text` and make it the running config; returns its version number."""
        parse(text, FILENAME)  # raises ConfigError with every problem
        with self._lock:
            if self.store.configs.latest() is None and self.path.exists():
                # The first edit from the page: keep what was there as version 1.
                self.store.configs.publish(self.path.read_text(encoding="utf-8-sig"), "before the first change")
            atomic_write(self.path, text)
            version = self.store.configs.publish(text, note, at_ms=self.clock_ms())
            self.store.configs.prune(HISTORY_KEEP)
        return version

    def publish_draft(self, note: str) -> int:
        version = self.publish(self.draft_text(), note)
        self.discard_draft()
        return version

    def edit(self, change: Callable[[dict[str, Any]], None], note: str) -> int:
        """Apply `change` to the published document (as data) and publish the result.
        A draft in progress is carried along: the same change is applied to it."""
        data = text_data(self.published_text())
        change(data)
        version = self.publish(to_text(data), note)
        draft = self.store.kv.get(DRAFT_KEY)
        if isinstance(draft, str):
            try:
                draft_data = text_data(draft)
                change(draft_data)
                self.store.kv.set(DRAFT_KEY, to_text(draft_data))
            except (ConfigError, KeyError, TypeError, ValueError):
                pass  # a broken draft stays as the owner left it
        return version

    def rollback(self, version: int) -> int:
        old = self.store.configs.get(version)
        if old is None:
            raise UsageError(f"there is no version {version} to go back to")
        return self.publish(old.text, f"back to version {version}")

    def history(self, limit: int = 30) -> list[ConfigVersion]:
        return self.store.configs.list(limit)
