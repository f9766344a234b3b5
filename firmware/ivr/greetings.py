"""Which greeting a mailbox plays, and where greetings recorded by phone live.

API:
    PHONE_KINDS                                  greetings an owner records by phone
    phone_greeting_path(ctx, mailbox, kind) -> Path
    keep_phone_greeting(ctx, mailbox, kind, recorded)   make a recording the live one
    drop_phone_greeting(ctx, mailbox, kind) -> bool     turn one off (the temporary one)
    phone_greeting_on(ctx, mailbox, kind) -> bool       a recording that plays now
    choose(ctx, mailbox, kind) -> Choice         what a caller hears for "unavailable"/"busy"

An owner sets a greeting two ways: in the config (a prompt or a file, from the web page)
and by phone (a recording under greetings/). The newest choice wins. A recording made
by phone remembers, in the key-value store, the configured greeting it was recorded
over; while the config still names that same greeting (and the same prompt text or
file), the recording plays; once the owner sets another greeting in the config, that is
the newer choice and plays. Times cannot tell this: the config is republished for any
edit (hours, a menu), which says nothing about greetings. A recording from before this
record existed is taken as recorded over the config of the first call that finds it.

Order for a call: the temporary greeting (recorded by phone, which plays until the
owner turns it off, or configured, until its `until`), then the greeting of the kind,
then, for "busy" when no busy greeting is set either way, the "unavailable" one, and
last the built-in sentence of the kind.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from firmware.ivr.context import CallContext
from firmware.settings import Greeting, Mailbox

PHONE_KINDS = ("unavailable", "busy", "temporary")
RECORD_KEY = "greeting.phone.{mailbox}.{kind}"  # {"over": fingerprint of the config slot}


@dataclass(frozen=True)
class Choice:
    """A greeting to play: a configured prompt, or a recording, or the built-in text."""

    source: str  # "phone" | "config" | "built-in"
    slot: str  # "temporary" | "unavailable" | "busy"
    prompt: str | None = None
    file: Path | None = None


def phone_greeting_path(ctx: CallContext, mailbox: str, kind: str) -> Path:
    """Where a greeting recorded by phone lives."""
    data = ctx.services.store.data
    return data.inside(data.greetings, f"mailbox-{mailbox}-{kind}.wav")


def _configured(mailbox: Mailbox, slot: str) -> Greeting | None:
    greeting: Greeting | None = getattr(mailbox.greetings, slot)
    return greeting if greeting is not None and greeting.is_set else None


def _fingerprint(ctx: CallContext, mailbox_id: str, slot: str) -> str:
    """The configured greeting of a slot as a caller would hear it (its prompt's texts
    and files included), so editing the prompt counts as choosing a new greeting."""
    greeting = _configured(ctx.settings.mailboxes[mailbox_id], slot)
    what: object = None
    if greeting is not None:
        what = greeting.model_dump(mode="json")
        prompt = ctx.settings.prompts.get(greeting.prompt) if greeting.prompt else None
        if prompt is not None:
            what = [what, prompt.model_dump(mode="json", by_alias=True)]
    raw = json.dumps(what, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _record_key(mailbox_id: str, kind: str) -> str:
    return RECORD_KEY.format(mailbox=mailbox_id, kind=kind)


def keep_phone_greeting(ctx: CallContext, mailbox_id: str, kind: str, recorded: Path) -> None:
    """Make `recorded` the live greeting (atomic rename), newer than the config's."""
    kv = ctx.services.store.kv
    kv.set(_record_key(mailbox_id, kind), {"over": _fingerprint(ctx, mailbox_id, kind)})
    os.replace(recorded, phone_greeting_path(ctx, mailbox_id, kind))


def drop_phone_greeting(ctx: CallContext, mailbox_id: str, kind: str) -> bool:
    """Remove a recording made by phone; True if there was one."""
    path = phone_greeting_path(ctx, mailbox_id, kind)
    existed = path.exists()
    path.unlink(missing_ok=True)
    ctx.services.store.kv.delete(_record_key(mailbox_id, kind))
    return existed


def phone_greeting_on(ctx: CallContext, mailbox_id: str, kind: str) -> bool:
    """True if the recording made by phone exists and no later config choice replaced it."""
    if not phone_greeting_path(ctx, mailbox_id, kind).exists():
        return False
    kv = ctx.services.store.kv
    key = _record_key(mailbox_id, kind)
    current = _fingerprint(ctx, mailbox_id, kind)
    record = kv.get(key)
    if not isinstance(record, dict):
        kv.set(key, {"over": current})  # recorded before records were kept: adopt it
        return True
    return record.get("over") == current


def _slot_choice(ctx: CallContext, mailbox_id: str, slot: str) -> Choice | None:
    if phone_greeting_on(ctx, mailbox_id, slot):
        return Choice("phone", slot, file=phone_greeting_path(ctx, mailbox_id, slot))
    mailbox = ctx.settings.mailboxes[mailbox_id]
    greeting = _configured(mailbox, slot)
    if greeting is None:
        return None
    if slot == "temporary" and not mailbox.greetings.temporary_on(ctx.local_now()):
        return None  # its `until` has passed
    file = ctx.services.store.data.absolute(greeting.file) if greeting.file else None
    return Choice("config", slot, prompt=greeting.prompt, file=file)


def choose(ctx: CallContext, mailbox_id: str, kind: str) -> Choice:
    """The greeting for `kind` ("unavailable" or "busy") now (see the module's order)."""
    slots = ["temporary", kind] + (["unavailable"] if kind == "busy" else [])
    for slot in slots:
        found = _slot_choice(ctx, mailbox_id, slot)
        if found is not None:
            return found
    return Choice("built-in", kind)
