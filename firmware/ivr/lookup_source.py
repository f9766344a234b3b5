"""Where a `lookup` node finds its answer: the owner's table, or an HTTP endpoint.

API:
    LookupAnswer(status, text=None, language=None, detail="")
        status: "found", "not_found", "expired" (table entry past valid_until), "failed"
    table_answer(store, table, key, language, default_language, local_now) -> LookupAnswer
    endpoint_url(template, key, language) -> str     `{key}`/`{lang}` filled in, else ?key=&lang=
    parse_answer(status, body, language, default_language) -> LookupAnswer
    await http_answer(url, timeout_s, language, default_language) -> LookupAnswer
    AnswerCache(max_entries)  .get(url, now_s) / .put(url, answer, until_s)
    cache_for(store) -> AnswerCache                  one cache per Store (per box), in memory

The endpoint contract: `GET url` answers 200 with JSON `{"text": "..."}` or
`{"text": {"en": "...", "zh-TW": "..."}}`; `{"text": null}`, `{"found": false}` or a 404
mean "no such number". Anything else (other statuses, not JSON, a text that is not a
string, longer than MAX_TEXT_CHARS) is a failure: the caller is told to try later. The
request runs in a worker thread (urllib), so the call keeps stepping its audio.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from firmware.store import Store
from firmware.store.lookups import ANY_LANGUAGE, MAX_TEXT_CHARS

MAX_BODY_BYTES = 16 * 1024
CACHE_ENTRIES = 256
THREAD_GRACE_S = 0.5  # backstop over the socket timeout of the worker thread
USER_AGENT = "ivrbox-lookup/1"


@dataclass(frozen=True)
class LookupAnswer:
    status: str
    text: str | None = None
    language: str | None = None  # the language `text` is written in
    detail: str = ""


def _pick(texts: dict[str, str], language: str, default_language: str) -> tuple[str, str] | None:
    if language in texts:
        return texts[language], language
    if ANY_LANGUAGE in texts:
        return texts[ANY_LANGUAGE], language
    if default_language in texts:
        return texts[default_language], default_language
    first = next(iter(texts.items()), None)
    return (first[1], first[0]) if first else None


def table_answer(store: Store, table: str, key: str, language: str, default_language: str,
                 local_now: dt.datetime) -> LookupAnswer:
    entry = store.lookups.find(table, key)
    if entry is None:
        return LookupAnswer("not_found")
    if not entry.valid_at(local_now):
        return LookupAnswer("expired", detail=f"valid until {entry.valid_until}")
    picked = _pick(dict(entry.texts), language, default_language)
    if picked is None:
        return LookupAnswer("not_found")
    return LookupAnswer("found", picked[0], picked[1])


def endpoint_url(template: str, key: str, language: str) -> str:
    quoted_key, quoted_lang = urllib.parse.quote(key), urllib.parse.quote(language)
    if "{key}" in template:
        return template.replace("{key}", quoted_key).replace("{lang}", quoted_lang)
    joiner = "&" if urllib.parse.urlsplit(template).query else "?"
    return f"{template}{joiner}key={quoted_key}&lang={quoted_lang}"


def parse_answer(status: int, body: bytes, language: str, default_language: str) -> LookupAnswer:
    if status == 404:
        return LookupAnswer("not_found", detail="404")
    if status != 200:
        return LookupAnswer("failed", detail=f"http {status}")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return LookupAnswer("failed", detail="not json")
    if not isinstance(doc, dict):
        return LookupAnswer("failed", detail="not a json object")
    if doc.get("found") is False or ("text" in doc and doc["text"] is None):
        return LookupAnswer("not_found")
    text = doc.get("text")
    if isinstance(text, dict) and text and all(isinstance(v, str) for v in text.values()):
        picked = _pick({str(k): v for k, v in text.items()}, language, default_language)
        text, lang = picked if picked else (None, language)
    else:
        lang = language
    if not isinstance(text, str) or not text.strip():
        return LookupAnswer("failed", detail="no text")
    if len(text) > MAX_TEXT_CHARS:
        return LookupAnswer("failed", detail="text too long")
    return LookupAnswer("found", text.strip(), lang)


def _get_blocking(url: str, timeout_s: float) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - http(s) only
            return resp.status, resp.read(MAX_BODY_BYTES + 1)
    except urllib.error.HTTPError as err:
        return err.code, b""


async def http_answer(url: str, timeout_s: float, language: str, default_language: str) -> LookupAnswer:
    """GET `url` in a worker thread; every failure becomes a "failed" answer."""
    try:
        status, body = await asyncio.wait_for(asyncio.to_thread(_get_blocking, url, timeout_s),
                                              timeout_s + THREAD_GRACE_S)
    except (TimeoutError, asyncio.TimeoutError):
        return LookupAnswer("failed", detail="timeout")
    except urllib.error.URLError as exc:
        timeout = isinstance(exc.reason, TimeoutError)
        return LookupAnswer("failed", detail="timeout" if timeout else f"unreachable: {exc.reason}")
    except OSError as exc:
        return LookupAnswer("failed", detail=f"network: {exc}")
    if len(body) > MAX_BODY_BYTES:
        return LookupAnswer("failed", detail="answer too large")
    return parse_answer(status, body, language, default_language)


class AnswerCache:
    """Recent endpoint answers (found / not found only; failures are asked again)."""

    def __init__(self, max_entries: int = CACHE_ENTRIES):
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, LookupAnswer]] = OrderedDict()

    def get(self, url: str, now_s: float) -> LookupAnswer | None:
        item = self._items.get(url)
        if item is None or item[0] <= now_s:
            self._items.pop(url, None)
            return None
        return item[1]

    def put(self, url: str, answer: LookupAnswer, until_s: float) -> None:
        if answer.status == "failed":
            return
        self._items[url] = (until_s, answer)
        self._items.move_to_end(url)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)


_CACHES: weakref.WeakKeyDictionary[Store, AnswerCache] = weakref.WeakKeyDictionary()


def cache_for(store: Store) -> AnswerCache:
    """The cache that lives as long as this Store: shared by the box's calls, gone with it."""
    cache = _CACHES.get(store)
    if cache is None:
        cache = _CACHES[store] = AnswerCache()
    return cache
