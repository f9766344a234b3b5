"""Which greeting a mailbox plays, and where greetings recorded by phone live.

API (`at` is a call's CallContext, or a Where the web page builds from its own):
    PHONE_KINDS                                  greetings an owner records by phone
    Where(settings, store, local_now)            what a choice reads, outside a call
    phone_greeting_path(at, mailbox, kind) -> Path
    keep_phone_greeting(at, mailbox, kind, recorded)    make a recording the live one
    drop_phone_greeting(at, mailbox, kind) -> bool      remove one (the configured one plays)
    phone_greeting_on(at, mailbox, kind) -> bool        a recording that plays now
    plays_now(at, mailbox, kind) -> Choice       what a caller hears for "unavailable"/"busy"
    choose = plays_now                           (the call's name for it)

The call and the owner's web page both ask `plays_now`, so the page can never show
another greeting than the one a caller hears.

An owner sets a greeting two ways: in the config (a prompt or a file, from the web page)
and by phone (a recording under greetings/). The newest choice wins. A recording made
by phone remembers, in the key-value store, the configured greeting it was recorded
over; while the config still names that same greeting (and the same prompt text or
file), the recording plays; once the owner sets another greeting in the config, that is
the newer choice and plays. Times cannot tell this: the config is republished for any
edit (hours, a menu), which says nothing about greetings. A recording from before this
record existed is taken as recorded over the config of the first call (or page view)
that finds it.

Order for a call: the temporary greeting (recorded by phone, which plays until the
owner turns it off, or configured, until its `until`), then the greeting of the kind,
then, for "busy" when no busy greeting is set either way, the "unavailable" one, and
last the built-in sentence of the kind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from firmware.errors import StoreError
from firmware.ivr.context import CallContext
from firmware.settings import Greeting, Mailbox, Settings
from firmware.store import Store

PHONE_KINDS = ("unavailable", "busy", "temporary")
RECORD_KEY = "greeting.phone.{mailbox}.{kind}"  # {"over": fingerprint of the config slot}


@dataclass(frozen=True)
class Choice:
    """A greeting to play: a configured prompt, or a recording, or the built-in text."""

    source: str  # "phone" | "config" | "built-in"
    slot: str  # "temporary" | "unavailable" | "busy"
    prompt: str | None = None
    file: Path | None = None


@dataclass(frozen=True)
class Where:
    """What a greeting choice reads: the settings, the store (recordings and their
    records) and the local time; a call has them in its context, the web page in its own."""

    settings: Settings
    store: Store
    local_now: dt.datetime


def _where(at: CallContext | Where) -> Where:
    if isinstance(at, Where):
        return at
    return Where(at.settings, at.services.store, at.local_now())


def phone_greeting_path(at: CallContext | Where, mailbox: str, kind: str) -> Path:
    """Where a greeting recorded by phone lives."""
    data = _where(at).store.data
    return data.inside(data.greetings, f"mailbox-{mailbox}-{kind}.wav")


def _configured(mailbox: Mailbox, slot: str) -> Greeting | None:
    greeting: Greeting | None = getattr(mailbox.greetings, slot)
    return greeting if greeting is not None and greeting.is_set else None


def _fingerprint(where: Where, mailbox_id: str, slot: str) -> str:
    """The configured greeting of a slot as a caller would hear it (its prompt's texts
    and files included), so editing the prompt counts as choosing a new greeting."""
    greeting = _configured(where.settings.mailboxes[mailbox_id], slot)
    what: object = None
    if greeting is not None:
        what = greeting.model_dump(mode="json")
        prompt = where.settings.prompts.get(greeting.prompt) if greeting.prompt else None
        if prompt is not None:
            what = [what, prompt.model_dump(mode="json", by_alias=True)]
    raw = json.dumps(what, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _record_key(mailbox_id: str, kind: str) -> str:
    return RECORD_KEY.format(mailbox=mailbox_id, kind=kind)


def keep_phone_greeting(at: CallContext | Where, mailbox_id: str, kind: str, recorded: Path) -> None:
    """Make `recorded` the live greeting (atomic rename), newer than the config's."""
    where = _where(at)
    where.store.kv.set(_record_key(mailbox_id, kind), {"over": _fingerprint(where, mailbox_id, kind)})
    os.replace(recorded, phone_greeting_path(where, mailbox_id, kind))


def drop_phone_greeting(at: CallContext | Where, mailbox_id: str, kind: str) -> bool:
    """Remove a recording made by phone; True if there was one."""
    where = _where(at)
    path = phone_greeting_path(where, mailbox_id, kind)
    existed = path.exists()
    path.unlink(missing_ok=True)
    where.store.kv.delete(_record_key(mailbox_id, kind))
    return existed


def phone_greeting_on(at: CallContext | Where, mailbox_id: str, kind: str) -> bool:
    """True if the recording made by phone exists and no later config choice replaced it."""
    where = _where(at)
    if not phone_greeting_path(where, mailbox_id, kind).exists():
        return False
    kv = where.store.kv
    key = _record_key(mailbox_id, kind)
    current = _fingerprint(where, mailbox_id, kind)
    record = kv.get(key)
    if not isinstance(record, dict):
        kv.set(key, {"over": current})  # recorded before records were kept: adopt it
        return True
    return record.get("over") == current


def _slot_choice(where: Where, mailbox_id: str, slot: str) -> Choice | None:
    if phone_greeting_on(where, mailbox_id, slot):
        return Choice("phone", slot, file=phone_greeting_path(where, mailbox_id, slot))
    mailbox = where.settings.mailboxes[mailbox_id]
    greeting = _configured(mailbox, slot)
    if greeting is None:
        return None
    if slot == "temporary" and not mailbox.greetings.temporary_on(where.local_now):
        return None  # its `until` has passed
    file = None
    if greeting.file:
        try:
            file = where.store.data.absolute(greeting.file)
        except StoreError:
            pass  # a symlink out of the data dir: never read it; the built-in sentence plays
    return Choice("config", slot, prompt=greeting.prompt, file=file)


def plays_now(at: CallContext | Where, mailbox_id: str, kind: str) -> Choice:
    """The greeting for `kind` ("unavailable" or "busy") now (see the module's order)."""
    where = _where(at)
    slots = ["temporary", kind] + (["unavailable"] if kind == "busy" else [])
    for slot in slots:
        found = _slot_choice(where, mailbox_id, slot)
        if found is not None:
            return found
    return Choice("built-in", kind)


choose = plays_now
