"""The mailbox-login node in text, for an owner calling from a TTY: PIN, then messages.

API:
    await run_mailbox_login(ctx, node_id, node) -> node.next | node.fail
    await owner_session_text(ctx, mailbox_id)    the owner's menu in text
    header(ctx, message) -> str                  "MESSAGE 1 OF 2, NEW. FROM 202. TODAY 10:00."

The mailbox number (unless the node names it) and the PIN are typed as digits and
never sent back. The check is the spoken login's (`mailnodes.pin_result`): the same
hash, the same lock-out store and count, so failures by voice and by TTY add up and a
locked mailbox is locked both ways. After the PIN: the message count, then 1 messages,
7 closed and 8 open until the opening hours next change, 9 the opening hours again (the
spoken menu's keys), 0 end (a TTY cannot type "*"). Each message is shown with
its caller and time; a typed (TTY) message is sent as text, while a voice message
cannot be played to a TTY, so the box says so and offers save, delete or next
(it stays new unless saved, so it is still new when heard by phone). Greetings are
recorded by voice only.
"""

from __future__ import annotations

import datetime as dt

from firmware.ivr.context import CallContext
from firmware.ivr.mailnodes import MAILBOX_DIGITS, PIN_DIGITS, mailbox_by_number, pin_result
from firmware.ivr.owner import (
    MAX_MENU_ROUNDS,
    MAX_SILENT_ROUNDS,
    OVERRIDE_KEYS,
    messages_in_order,
    set_override,
)
from firmware.ivr.phrases import phrase
from firmware.ivr.ttynodes import prompt_text
from firmware.ivr.ttyturn import answer, digits, say
from firmware.settings.flow import MailboxLoginNode
from firmware.store.messages import Message

TEXT_LANGUAGE = "en"
ASK_MAILBOX = "Please type your mailbox number, then press Enter."
ASK_PIN = "Please type your PIN, then press Enter."
COUNT = "You have {new} new {new_noun} and {saved} saved {saved_noun}."
MENU = ("Type 1 for your messages, 7 to close or 8 to open until your hours next change,"
        " 9 to follow your hours, or 0 to end.")
VOICE = "Voice message, {seconds} seconds. It cannot be played by TTY."
TYPED = "Typed message:"
VOICE_KEYS = "Type 2 to save it, 3 to delete it, or GA for the next."
TYPED_KEYS = "Type 1 to see it again, 2 to save it, 3 to delete it, or GA for the next."
MAX_SHOWS = 5  # a typed message shown again at most this often


def _phrase(key: str) -> str:
    return phrase(key, TEXT_LANGUAGE)


async def run_mailbox_login(ctx: CallContext, node_id: str, node: MailboxLoginNode) -> str | None:
    lead = prompt_text(ctx, node.prompt)
    for attempt in range(1, node.attempts + 1):
        box_id = node.mailbox
        if box_id is None:
            await say(ctx, f"{lead} {ASK_MAILBOX}")
            lead = ""
            box_id = mailbox_by_number(ctx, digits(await answer(ctx, max_digits=MAILBOX_DIGITS)))
        await say(ctx, f"{lead} {ASK_PIN}")
        pin = digits(await answer(ctx, max_digits=PIN_DIGITS, secret=True))
        result = pin_result(ctx, box_id, pin, attempt=attempt, attempts=node.attempts,
                            lockout_s=node.lockout_s, tty=True)
        if result == "ok" and box_id is not None:
            await owner_session_text(ctx, box_id)
            return node.next
        if result == "locked":
            await say(ctx, _phrase("locked"), end="")
            return node.fail
        lead = _phrase("wrong_pin")
    await say(ctx, lead, end="")
    return node.fail


def _messages_noun(n: int) -> str:
    return "message" if n == 1 else "messages"


def header(ctx: CallContext, message: Message, number: int = 1, total: int = 1) -> str:
    """Who and when, as a line of text (the business's time zone, 24-hour clock)."""
    who = message.caller_number or "an unknown caller"
    if message.caller_name:
        who = f"{who} ({message.caller_name})"
    received = dt.datetime.fromtimestamp(message.received_ms / 1000, tz=dt.timezone.utc) \
        .astimezone(ctx.settings.business.zone)
    day = "today" if received.date() == ctx.local_now().date() else f"{received:%a %b} {received.day}"
    state = "" if message.heard else ", new"
    return f"Message {number} of {total}{state}. From {who}. {day} {received:%H:%M}."


async def _message(ctx: CallContext, message: Message, lead: str, number: int,
                   total: int) -> str:
    """Show one message and act on the owner's answer; returns what to say next."""
    voicemail = ctx.services.voicemail
    typed = message.text is not None
    for _ in range(MAX_SHOWS):
        body = f'{TYPED} "{message.text}" {TYPED_KEYS}' if typed else \
            f"{VOICE.format(seconds=round(message.duration_ms / 1000))} {VOICE_KEYS}"
        await say(ctx, f"{lead} {header(ctx, message, number, total)} {body}", private=typed)
        lead = ""
        if typed:
            voicemail.mark_heard(message.id)  # read on the screen: as good as heard
        choice = digits(await answer(ctx, max_digits=1))
        if choice == "1" and typed:
            continue
        if choice == "3":
            voicemail.delete(message.id)
            ctx.log("message_deleted", message=message.id, tty=True)
            return _phrase("message_deleted")
        if choice == "2":
            voicemail.mark_heard(message.id)
            ctx.log("message_kept", message=message.id, tty=True)
            return _phrase("message_kept")
        return ""
    return ""


async def _messages(ctx: CallContext, mailbox_id: str) -> str:
    ordered = messages_in_order(ctx, mailbox_id)
    lead = ""
    for number, message in enumerate(ordered, start=1):
        lead = await _message(ctx, message, lead, number, len(ordered))
    return f"{lead} {_phrase('no_more_messages')}"


async def owner_session_text(ctx: CallContext, mailbox_id: str) -> None:
    new, total = ctx.services.voicemail.counts(mailbox_id)
    saved = total - new
    lead = COUNT.format(new=new, saved=saved, new_noun=_messages_noun(new),
                        saved_noun=_messages_noun(saved))
    silent = 0
    for _ in range(MAX_MENU_ROUNDS):
        await say(ctx, f"{lead} {MENU}")
        lead = ""
        reply = await answer(ctx, max_digits=1)
        choice = digits(reply)[:1]
        if not reply:
            silent += 1
            if silent >= MAX_SILENT_ROUNDS:
                return
            continue
        silent = 0
        if choice == "1":
            lead = await _messages(ctx, mailbox_id)
        elif choice in OVERRIDE_KEYS:
            lead = _phrase(set_override(ctx, OVERRIDE_KEYS[choice]))
        elif choice == "0":
            return
        else:
            lead = _phrase("invalid")
