"""The `lookup` node: information by phone (order, booking, repair ticket status).

API:
    await run_lookup(ctx, node_id, node) -> next node id | None
    entry_segments(text) -> [(kind, part)]    "text" parts for speech, "digits" read key by key
    log_key(key, private, secret) -> str      the key as the call log keeps it
    key_secret(store) -> bytes                this box's key for hashing private keys
    await look_up(ctx, node, key, attempt, language=, hold_words=True) -> LookupAnswer
                                              the answer, logged as a `lookup` event
                                              (shared with the TTY lookup, ttylookup.py)
    lookups_so_far(ctx) -> int                lookups this call has used
    LOOKUP_PHRASES[key][language]             the node's built-in sentences

The caller keys a number, ending with `#` or a pause; the box reads back the entry in
the caller's language (text by text-to-speech, runs of DIGITWISE_MIN or more digits
digit by digit from the recorded vocabulary), then offers repeat / another number /
operator / done. Lookups per call are capped by the node's `attempts`, counted from the
call log, so hopping between lookup nodes or re-entering one does not reset the count.

An endpoint is asked in a worker thread while the call keeps stepping audio ("one moment",
then silence). On a line that runs faster than real time (the simulator) the waiting
loop lets the line clock run no faster than the wall clock, so the wait a caller hears
is the real one and the call's timeline stays true; on hardware the line is the real
clock already and the loop never holds a frame back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from typing import Any

import numpy as np

from firmware.ivr import readout
from firmware.ivr.context import CallContext
from firmware.ivr.lookup_source import (
    LookupAnswer,
    cache_for,
    endpoint_url,
    http_answer,
    table_answer,
)
from firmware.line.base import FRAME_SAMPLES, samples_to_ms
from firmware.settings.flow import LookupNode

S_TO_MS = 1000.0
DIGITWISE_MIN = 3  # digit runs this long or longer are read key by key
MAX_REPEATS = 5  # replays of one entry
MAX_SILENT_PROMPTS = 2  # asks without any key before moving on
HASHED_KEY_CHARS = 12  # hex characters of the HMAC kept for private keys
PRIVATE_KEY_PREFIXES = ("hmac:", "sha256:")  # how private keys are logged: now, and before 2026-12
KEY_SECRET_NAME = "lookup_key_secret"  # key_value row holding this box's random key
_DIGIT_RUN = re.compile(r"\d(?:[\d\- ]*\d)?")

LOOKUP_PHRASES: dict[str, dict[str, str]] = {
    "wait": {"en": "One moment, please.", "zh-TW": "請稍候。"},
    "found": {"en": "For number", "zh-TW": "查詢號碼"},
    "not_found": {"en": "Sorry, we found nothing for that number.",
                  "zh-TW": "抱歉，查無此號碼的資料。"},
    "too_short": {"en": "That number is too short.", "zh-TW": "號碼位數不足。"},
    "try_later": {"en": "Sorry, this information is not available right now. Please try again later.",
                  "zh-TW": "抱歉，目前無法查詢，請稍後再試。"},
    "too_many": {"en": "Sorry, that was too many attempts.", "zh-TW": "抱歉，查詢次數已達上限。"},
    "repeat_key": {"en": "To hear it again, press {key}.", "zh-TW": "重聽請按{key}。"},
    "another_key": {"en": "For another number, press {key}.", "zh-TW": "查詢其他號碼請按{key}。"},
    "operator_key": {"en": "For the operator, press {key}.", "zh-TW": "轉接專人請按{key}。"},
    "done_key": {"en": "To continue, press {key}.", "zh-TW": "繼續請按{key}。"},
}
KEY_NAMES = {"#": {"en": "pound", "zh-TW": "井字鍵"}, "*": {"en": "star", "zh-TW": "星號"}}


def _phrase(name: str, language: str, **values: Any) -> str:
    texts = LOOKUP_PHRASES[name]
    return (texts.get(language) or texts["en"]).format(**values)


def log_key(key: str, private: bool, secret: bytes) -> str:
    """What the call log keeps: the digits, or for private keys a short HMAC-SHA256 under
    this box's own random key. A plain hash of a 6-8 digit number is undone by trying all
    of them in seconds; with the key kept in the box's database, a leaked call-log export
    or analytics screen reveals nothing, while the same number still matches itself."""
    if not private:
        return key
    digest = hmac.new(secret, key.encode("ascii"), hashlib.sha256).hexdigest()
    return PRIVATE_KEY_PREFIXES[0] + digest[:HASHED_KEY_CHARS]


def key_secret(store: Any) -> bytes:
    """The box's key for private lookup keys, made on first use and kept (backups carry it,
    so a restored box still matches the numbers it logged)."""
    value = store.kv.get(KEY_SECRET_NAME)
    if not value:
        with store.db.write():  # read again under the lock: the web page may make it too
            value = store.kv.get(KEY_SECRET_NAME)
            if not value:
                value = secrets.token_hex(32)
                store.kv.set(KEY_SECRET_NAME, value)
    return bytes.fromhex(value)


def entry_segments(text: str) -> list[tuple[str, str]]:
    """Split an entry into speech and digit-by-digit parts ("Order 12345 ships Friday")."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) < DIGITWISE_MIN:
            continue
        if text[pos:match.start()].strip():
            parts.append(("text", text[pos:match.start()].strip()))
        parts.append(("digits", digits))
        pos = match.end()
    if text[pos:].strip():
        parts.append(("text", text[pos:].strip()))
    return parts


def lookups_so_far(ctx: CallContext) -> int:
    return sum(1 for e in ctx.services.store.calls.events(ctx.call_id) if e.kind == "lookup")


class _MaskedKeys:
    """While a private number is keyed, the call log's per-key events carry no digit
    (`Call.secret`, as for a PIN)."""

    def __init__(self, ctx: CallContext, active: bool):
        self.call, self.active = ctx.call, active

    def __enter__(self) -> None:
        if self.active:
            self.saved = self.call.secret
            self.call.secret = True

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            self.call.secret = self.saved


async def _speak(ctx: CallContext, *keys: str, barge_in: bool = True,
                 values: dict[str, dict[str, str]] | None = None) -> bool:
    """The node's built-in sentences `keys` (`values` fills each one's fields), named for
    the transcript by their LOOKUP_PHRASES keys: heard.py only knows ivr/phrases.py's."""
    values = values or {}
    text = " ".join(_phrase(key, ctx.language, **values.get(key, {})) for key in keys)
    audio = await ctx.render(text, ctx.language)
    what: dict[str, Any] = ({"lookup_phrase": keys[0]} if len(keys) == 1
                            else {"lookup_phrases": list(keys)})
    ctx.name(audio, **what, language=ctx.language)
    return await ctx.call.play(audio, barge_in=barge_in)


async def _await_stepping(ctx: CallContext, task: asyncio.Task[LookupAnswer],
                          hold_words: bool = True) -> LookupAnswer:
    """Keep the call's audio going (a short "one moment", then silence; silence only
    for a TTY, which was told in text) until `task` ends."""
    call = ctx.call
    hold = (await ctx.render(_phrase("wait", ctx.language), ctx.language) if hold_words
            else np.zeros(0, np.int16))
    if hold_words:  # fed frame by frame, not played: Call.on_play never sees it
        ctx.note("prompt", lookup_phrase="wait", language=ctx.language)
    start_clock, start_wall = call.now, time.monotonic()
    index = 0
    try:
        while not task.done():
            frame = hold[index:index + FRAME_SAMPLES]
            index += FRAME_SAMPLES
            if len(frame) < FRAME_SAMPLES:
                frame = np.concatenate([frame, np.zeros(FRAME_SAMPLES - len(frame), np.int16)])
            await call.step(frame)
            ahead_s = samples_to_ms(call.now - start_clock) / S_TO_MS - (time.monotonic() - start_wall)
            if ahead_s > 0 and not task.done():
                await asyncio.wait({task}, timeout=ahead_s)
        return task.result()
    finally:
        if not task.done():
            task.cancel()  # the caller left; the worker thread ends at its own timeout


async def _answer(ctx: CallContext, node: LookupNode, key: str, language: str,
                  hold_words: bool) -> LookupAnswer:
    default = ctx.settings.business.default_language
    if node.table is not None:
        return table_answer(ctx.services.store, node.table, key, language, default, ctx.local_now())
    url = endpoint_url(node.url or "", key, language)
    cache = cache_for(ctx.services.store)
    cached = cache.get(url, time.monotonic())
    if cached is not None:
        return LookupAnswer(cached.status, cached.text, cached.language, "cached")
    task = asyncio.create_task(http_answer(url, node.timeout_s, language, default))
    answer = await _await_stepping(ctx, task, hold_words)
    if node.cache_s > 0:
        cache.put(url, answer, time.monotonic() + node.cache_s)
    return answer


async def look_up(ctx: CallContext, node: LookupNode, key: str, attempt: int, *,
                  language: str | None = None, hold_words: bool = True,
                  **log: object) -> LookupAnswer:
    """The entry for `key` ("too_short" without asking the source when it has fewer than
    `min_digits`), logged as the call's `lookup` event with the key hashed when private:
    spoken and TTY lookups count and log the same way."""
    source = "table" if node.table is not None else "url"
    if len(key) < node.min_digits:
        answer = LookupAnswer("too_short")
    else:
        answer = await _answer(ctx, node, key, language or ctx.language, hold_words)
    logged_key = log_key(key, node.private, key_secret(ctx.services.store) if node.private else b"")
    ctx.log("lookup", key=logged_key, result=answer.status, source=source,
            attempt=attempt, **({"detail": answer.detail} if answer.detail else {}), **log)
    return answer


async def _read_entry(ctx: CallContext, node: LookupNode, key: str, answer: LookupAnswer) -> None:
    prompts, lang = ctx.services.prompts, answer.language or ctx.language
    ctx.call.clear_keys()
    if node.found_prompt:
        await ctx.say(node.found_prompt)
    else:
        intro = [await ctx.render(_phrase("found", ctx.language), ctx.language),
                 prompts.words(readout.digits(key, ctx.language), ctx.language)]
        # named by its sentence alone: the key it reads back is never in an event
        if await ctx.call.play(ctx.name(np.concatenate(intro), lookup_phrase="found",
                                        language=ctx.language)):
            return
    parts = []
    for kind, part in entry_segments(answer.text or ""):
        parts.append(prompts.words(readout.digits(part, lang), lang) if kind == "digits"
                     else await ctx.render(part, lang))
    if parts:  # the entry's words (and the key) stay out of the transcript
        await ctx.call.play(ctx.name(np.concatenate(parts), lookup_entry=True, language=lang))


async def _offer(ctx: CallContext, node: LookupNode) -> str | None:
    offered = [(field, key) for field, key in node.menu_keys().items() if key is not None]
    if not ctx.call.has_keys():
        names = {field: {"key": KEY_NAMES.get(key, {}).get(ctx.language, key)}
                 for field, key in offered}
        await _speak(ctx, *names, values=names)
    key = await ctx.call.wait_key(node.choice_timeout_s * S_TO_MS)
    return next((field for field, k in offered if k == key), None)


async def run_lookup(ctx: CallContext, node_id: str, node: LookupNode) -> str | None:
    operator = node.operator or ctx.settings.flow.operator
    used, silent = lookups_so_far(ctx), 0
    while True:
        if used >= node.attempts:
            ctx.log("lookup_limit", attempts=used)
            await _speak(ctx, "too_many", barge_in=False)
            return node.fallback
        await ctx.say(node.prompt)
        with _MaskedKeys(ctx, node.private):
            key = await ctx.call.collect(node.max_digits, node.first_digit_timeout_s * S_TO_MS,
                                         node.inter_digit_timeout_s * S_TO_MS)
        if not key:
            silent += 1
            ctx.log("timeout", attempt=silent)
            if silent >= MAX_SILENT_PROMPTS:
                return node.next
            continue
        used += 1
        answer = await look_up(ctx, node, key, used)
        if answer.status == "too_short":
            await _speak(ctx, "too_short")
            continue
        if answer.status == "failed":
            await _speak(ctx, "try_later", barge_in=False)
            return node.fallback
        if answer.status != "found":
            if node.not_found_prompt:
                await ctx.say(node.not_found_prompt)
            else:
                await _speak(ctx, "not_found")
            continue
        repeats = 0
        while True:
            await _read_entry(ctx, node, key, answer)
            choice = await _offer(ctx, node)
            if choice == "repeat_key" and repeats < MAX_REPEATS:
                repeats += 1
                ctx.log("lookup_repeat")
                continue
            break
        if choice == "another_key":
            ctx.log("lookup_another")
            continue
        if choice == "operator_key" and operator:
            ctx.log("operator")
            return operator
        return node.next
