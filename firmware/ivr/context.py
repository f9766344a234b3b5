"""What a node handler works with: the call, its settings, prompts, store, and log.

API:
    Services(store, voicemail, prompts, notify=None, now=...)   long-lived, per engine
    CallContext(...)                     one answered call
        .say(prompt_id, barge_in=True) -> bool       a configured prompt, in the call's language
        .say_phrase(key, barge_in=True, language=None, **values) -> bool   a built-in sentence
        .say_words(ids, barge_in=True) -> bool       a read-out from the vocabulary
        .render(text, language=None, file=None) / .prompt_audio(id, language=None)   audio
        .name(audio, **what) -> audio                what its `prompt` event will say
        .log(kind, **detail)                         a call_events row, timed on the line clock
        .note(kind, **detail)                        the same event for on_event only
        .previous_menu() -> str | None               where a menu's back key leads
        .wall_ms(at=None) -> int                     the line clock mapped to wall time
        .local_now() -> datetime                     in the business's time zone
        .outcome / .end_reason                       what the call log will say

The line's sample clock is the time of a call; `wall_ms` maps it onto the wall clock
from the moment the call started, so a simulated call that runs 50x faster than real
time still logs a two-minute call as two minutes.

Every audio the call plays is one `prompt` event, logged as it starts (`Call.on_play`;
names in ivr/heard.py). Configured prompts go to the call log as they always have: they
say which of the owner's words a caller heard. Built-in sentences, beeps and read-outs
are transcript-only (`note`: `ivrbox call`, the test-call page): each follows from an
event the log keeps (invalid, message_saved, forward_result...), and the log is the
owner's history, written on the call path to an SD card, backed up and shown call by call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from firmware.errors import AudioFormatError, StoreError
from firmware.ivr.call import Call
from firmware.ivr.heard import Audio, Heard, spoken
from firmware.ivr.phrases import phrase
from firmware.ivr.prompts import Prompts
from firmware.ivr.tty import announce as announce_tty
from firmware.line.base import CallerId, samples_to_ms
from firmware.settings import Settings
from firmware.store import Store
from firmware.voicemail.mailbox import Voicemail


class Notifier(Protocol):
    """Where the call path hands off e-mail and webhooks (never sends inline)."""

    def voicemail(self, message_id: int, mailbox: str) -> None: ...

    def callback_requested(self, callback_id: int, mailbox: str) -> None: ...


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Services:
    store: Store
    voicemail: Voicemail
    prompts: Prompts
    notify: Notifier | None = None
    now_ms: Callable[[], int] = wall_clock_ms  # the wall clock; tests pin it


@dataclass
class CallContext:
    settings: Settings
    services: Services
    call: Call
    call_id: int
    line_name: str
    caller: CallerId | None
    started_wall_ms: int
    started_clock: int
    language: str
    caller_class: str = "unknown"
    path: list[str] = field(default_factory=list)
    outcome: str = "hung_up"
    end_reason: str | None = None
    forwards: int = 0
    last_forward_result: str | None = None  # "busy", "no_answer", ... for greeting choice
    on_event: Callable[[str, dict[str, Any]], None] | None = None
    heard: Heard = field(default_factory=Heard, repr=False)

    def __post_init__(self) -> None:
        me = weakref.ref(self)  # the call must not hold its context: no reference cycle

        def playing(audio: Audio) -> None:
            ctx = me()
            if ctx is not None:
                ctx._playing(audio)

        self.call.on_play = playing

    # -- time --------------------------------------------------------------------------
    def wall_ms(self, at: int | None = None) -> int:
        clock = self.call.now if at is None else at
        return self.started_wall_ms + int(samples_to_ms(clock - self.started_clock))

    def local_now(self) -> dt.datetime:
        utc = dt.datetime.fromtimestamp(self.wall_ms() / 1000, tz=dt.timezone.utc)
        return utc.astimezone(self.settings.business.zone)

    def t_ms(self) -> int:
        return int(samples_to_ms(self.call.now - self.started_clock))

    # -- logging -----------------------------------------------------------------------
    @property
    def node(self) -> str | None:
        return self.path[-1] if self.path else None

    def previous_menu(self) -> str | None:
        """Where a menu's back key leads: the menu before the current one on the call's
        trail of menus, or None in the first menu. The trail is the path's menus (play,
        schedule, language... steps between them left out) with every return cut out:
        reaching a menu already on it, by the back key or by an option that leads there
        again ("1: our hours", then the menu anew), drops what came after it. So back
        always climbs one level and never swings between two menus."""
        nodes = self.settings.flow.nodes
        trail: list[str] = []
        for nid in self.path:
            if getattr(nodes.get(nid), "type", None) != "menu":
                continue
            if nid in trail:
                del trail[trail.index(nid) + 1:]
            else:
                trail.append(nid)
        return trail[-2] if len(trail) >= 2 else None

    def log(self, kind: str, **detail: Any) -> None:
        self.services.store.calls.event(self.call_id, self.t_ms(), kind, self.node, **detail)
        self.note(kind, **detail)

    def note(self, kind: str, **detail: Any) -> None:
        if self.on_event is not None:
            self.on_event(kind, {"t_ms": self.t_ms(), "node": self.node, **detail})

    def _playing(self, audio: Audio) -> None:
        what = self.heard.take(audio)
        if "prompt" in what:
            self.log("prompt", **what)
        else:
            self.note("prompt", **what)

    def name(self, audio: Audio, **what: Any) -> Audio:
        """Say what `audio` is when it plays (see ivr/heard.py for the shapes)."""
        return self.heard.name(audio, **what)

    # -- speaking ----------------------------------------------------------------------
    def prompt_language(self, prompt_id: str, language: str | None = None) -> str:
        """The call's language (or `language`) if the prompt has it, else the business's
        default."""
        prompt = self.settings.prompts[prompt_id]
        wanted = language or self.language
        return wanted if prompt.has(wanted) else self.settings.business.default_language

    async def render(self, text: str, language: str | None = None,
                     file: Path | None = None) -> Audio:
        """`Prompts.render`, but text-to-speech on a cache miss runs in a worker thread
        while the call keeps stepping (silence): no line, no page freezes for espeak-ng."""
        prompts = self.services.prompts
        language = language or self.language
        if prompts.needs_speech(text, language, file):
            worker = asyncio.ensure_future(asyncio.to_thread(prompts.prepare, text, language))
            start_clock, start_wall = self.call.now, time.monotonic()
            try:
                while not worker.done():
                    # A real line paces step() itself; a fast simulated line must not run
                    # ahead of the wall clock, or the caller would hear minutes of silence
                    # for a second of speech synthesis. So: wait on the worker, not a timer.
                    ahead_s = (samples_to_ms(self.call.now - start_clock) / 1000.0
                               - (time.monotonic() - start_wall))
                    if ahead_s > 0:
                        await asyncio.wait({worker}, timeout=ahead_s)
                        continue
                    await self.call.step()
                worker.result()
            finally:
                if not worker.done():
                    worker.cancel()  # the caller left; the thread ends at its own timeout
        audio = prompts.render(text, language, file)
        return self.name(audio, **spoken(text, language, file is not None and Path(file).exists()))

    async def prompt_audio(self, prompt_id: str, language: str | None = None) -> Audio:
        """The prompt's recording, or its text spoken when the file is refused (a path
        that leaves the data dir) or unreadable: a bad file never silences the line."""
        prompt = self.settings.prompts[prompt_id]
        language = self.prompt_language(prompt_id, language)
        text = prompt.text(language) or ""
        rel = prompt.file.get(language)
        if rel and text:
            try:
                path = self.services.store.data.absolute(rel)
                audio = await self.render(text, language, path)
            except (StoreError, AudioFormatError) as exc:
                self.log("prompt_file_failed", prompt=prompt_id, error=type(exc).__name__)
                audio = await self.render(text, language)
        else:
            path = self.services.store.data.absolute(rel) if rel else None
            audio = await self.render(text, language, path)
        return self.name(audio, prompt=prompt_id, language=language)

    async def say(self, prompt_id: str | None, *, barge_in: bool = True) -> bool:
        """Play a configured prompt; True if the caller pressed a key during it."""
        if not prompt_id:
            return False
        pressed = await self.call.play(await self.prompt_audio(prompt_id), barge_in=barge_in)
        if self.call.tty.announce and not pressed:  # business.announce_tty (ivr/tty.py)
            self.log("tty_announced")
            await announce_tty(self.call)
        return pressed

    async def say_phrase(self, key: str, /, *, barge_in: bool = True, language: str | None = None,
                         **values: object) -> bool:
        """A built-in sentence (ivr/phrases.py), in the call's language or `language`."""
        language = language or self.language
        audio = await self.render(phrase(key, language, **values), language)
        self.name(audio, phrase=key, language=language)
        return await self.call.play(audio, barge_in=barge_in)

    async def say_words(self, ids: list[str], *, barge_in: bool = True) -> bool:
        audio = self.services.prompts.words(ids, self.language)
        self.name(audio, words=list(ids), language=self.language)
        return await self.call.play(audio, barge_in=barge_in)

    async def say_text(self, text: str, *, barge_in: bool = True) -> bool:
        """Built-in sentences (mailbox menus) spoken in the call's language."""
        audio = await self.render(text, self.language)
        return await self.call.play(audio, barge_in=barge_in)
