"""The flow in text, for a TTY caller: every node's prompt sent as Baudot, typed digits
as keys, a voicemail as a typed message.

API:
    TEXT_HANDLERS[node_type] -> async handler(ctx, node_id, node) -> next node id | None
                                (the talking nodes; ttyflow.py adds callback, mailbox
                                login and lookup, which have modules of their own)
    prompt_text(ctx, prompt_id) -> str      the prompt's English text (Baudot is A-Z 0-9)
    menu_text(ctx, node) -> str             the menu's English text, or one made from its
                                            keys where the prompt has none (a zh-TW-only box)
    await text_goodbye(ctx, key="goodbye")  a built-in phrase ending with SK

What a TTY caller gets, node by node: menus, extensions, surveys and screens are sent
as text ending with "GA" (go ahead) and answered by typing the digits; a play node is
sent as text; a schedule node decides as it does for a voice call; the language node is
skipped (TTYs carry English letters only). A voicemail becomes a typed message, ended
by "GA"/"SK" or a pause, stored as text and notified like a voicemail. Nobody at the
office can take a TTY call by phone, so a forward goes straight to its fallback. The
callback, mailbox-login and lookup nodes in text: ttycallback.py, ttyowner.py,
ttylookup.py.
"""

from __future__ import annotations

from typing import Any

from firmware.errors import StoreError
from firmware.ivr import nodes, tty
from firmware.ivr.context import CallContext
from firmware.ivr.phrases import phrase
from firmware.ivr.ttyturn import TURN_WAIT_MS, keys, say

TEXT_LANGUAGE = "en"
MESSAGE_PAUSE_MS = 30_000  # a message is slow to type: a longer pause ends it
MESSAGE_MAX_MS = 10 * 60_000
MAX_ATTEMPTS = 3

Handler = Any


def prompt_text(ctx: CallContext, prompt_id: str | None) -> str:
    if not prompt_id:
        return ""
    prompt = ctx.settings.prompts[prompt_id]
    return prompt.text(TEXT_LANGUAGE) or ""


def _readable(name: str | None) -> str | None:
    """A name a TTY can print (Baudot has no Chinese), or None."""
    if not name:
        return None
    text = name.replace("_", " ").strip()
    return text if text.isascii() and any(c.isalpha() for c in text) else None


def _option_name(ctx: CallContext, target: str | None) -> str | None:
    """What a key leads to, in words: the person or mailbox it reaches, else the step's id."""
    node = ctx.settings.flow.nodes.get(target) if target else None
    person = getattr(node, "person", None)
    mailbox = getattr(node, "mailbox", None)
    names = [getattr(ctx.settings.people.get(person), "name", None) or person if person else None,
             ctx.settings.mailboxes[mailbox].name if mailbox in ctx.settings.mailboxes else None,
             target]
    return next((n for n in map(_readable, names) if n), None)


def menu_text(ctx: CallContext, node: Any, operator_key: str | None = None) -> str:
    """The menu prompt's English text; where it has none (a box set up in Chinese only,
    or a recorded prompt) the choices are written out from the menu's keys, so a TTY
    caller is never sent a bare "GA" with nothing to choose from."""
    text = prompt_text(ctx, node.prompt)
    if text:
        return text
    parts = []
    for key, target in node.options.items():
        name = _option_name(ctx, target)
        parts.append(f"For {name}, type {key}." if name else f"Type {key}.")
    if operator_key:
        parts.append(f"For the operator, type {operator_key}.")
    return " ".join(parts)


def _phrase(key: str, **values: object) -> str:
    return phrase(key, TEXT_LANGUAGE, **values)


async def text_goodbye(ctx: CallContext, key: str = "goodbye") -> None:
    await say(ctx, _phrase(key), end="SK")


async def run_menu(ctx: CallContext, node_id: str, node: Any) -> str | None:
    """As the spoken menu (nodes.run_menu) counts: a wrong or missing choice uses an
    attempt; the back key in the call's first menu sends the menu again without using
    one (up to nodes.MAX_REPEATS times, then it is a wrong choice like any other). The
    operator key reaches the operator (whose forward, in text, goes on to its mailbox),
    the more-time key sends "take your time" and waits again without using an attempt:
    a TTY caller is never stuck in a menu either. ("*", the repeat key, has no key on
    a TTY: the menu is sent again after every wrong or missing choice.)"""
    options = dict(node.options)
    retries = node.retries or ctx.settings.limits.max_retries
    operator = node.operator or ctx.settings.flow.operator
    # a menu key counts only where no option uses it (as for a voice caller)
    operator_key = node.operator_key if operator and node.operator_key not in options else None
    more_time_key = node.more_time_key if node.more_time_key not in options else None

    def complete(digits: str) -> bool:
        if digits in (operator_key, more_time_key):
            return True
        return digits in options and not any(o != digits and o.startswith(digits) for o in options)

    text = menu_text(ctx, node, operator_key)
    failures = repeats = 0
    while failures < retries:
        await say(ctx, text)
        digits = await keys(ctx, complete)
        choice = next((digits[:n] for n in range(len(digits), 0, -1) if digits[:n] in options), None)
        if choice is not None:
            ctx.log("choice", keys=choice, target=options[choice], tty=True)
            return options[choice]
        if digits and digits == operator_key:
            ctx.log("operator", tty=True)
            return operator
        if digits and digits == more_time_key and repeats < nodes.MAX_REPEATS:
            repeats += 1
            ctx.log("more_time", tty=True)
            text = _phrase("more_time")
            continue
        if digits and digits == node.back_key:
            back = ctx.previous_menu()
            if back is not None:
                ctx.log("back", target=back, tty=True)
                return back
            if repeats < nodes.MAX_REPEATS:  # the call's first menu: the menu again
                repeats += 1
                ctx.log("back", target=None, tty=True)
                text = menu_text(ctx, node, operator_key)
                continue
        failures += 1
        ctx.log("invalid" if digits else "timeout", keys=digits, attempt=failures, tty=True)
        text = prompt_text(ctx, node.invalid_prompt if digits else node.timeout_prompt) \
            or _phrase("invalid" if digits else "timeout")
        text = f"{text} {menu_text(ctx, node, operator_key)}"
    ctx.log("retries_exhausted", target=node.final)
    return node.final


async def run_play(ctx: CallContext, node_id: str, node: Any) -> str | None:
    await say(ctx, prompt_text(ctx, node.prompt), end="")
    return node.next


async def run_hangup(ctx: CallContext, node_id: str, node: Any) -> str | None:
    await say(ctx, prompt_text(ctx, node.prompt) or _phrase("goodbye"), end="SK")
    ctx.outcome = ctx.outcome if ctx.outcome != "hung_up" else "handled_in_menu"
    ctx.end_reason = ctx.end_reason or "goodbye"
    return None


async def run_language(ctx: CallContext, node_id: str, node: Any) -> str | None:
    ctx.log("language", language=TEXT_LANGUAGE, tty=True)
    return node.next


async def run_extension(ctx: CallContext, node_id: str, node: Any) -> str | None:
    retries = node.retries or ctx.settings.limits.max_retries
    for attempt in range(1, retries + 1):
        await say(ctx, prompt_text(ctx, node.prompt) or "Type the extension number.")
        digits = await keys(ctx, lambda d: d in node.extensions)
        if digits in node.extensions:
            ctx.log("extension", digits=digits, target=node.extensions[digits], tty=True)
            return node.extensions[digits]
        ctx.log("invalid" if digits else "timeout", keys=digits, attempt=attempt, tty=True)
    return node.final


async def run_survey(ctx: CallContext, node_id: str, node: Any) -> str | None:
    await say(ctx, prompt_text(ctx, node.question)
              or f"Please rate this call: type {', '.join(node.answers)}.")
    digits = await keys(ctx, lambda d: len(d) >= 1)
    if digits[:1] and digits[:1] in node.answers:
        ctx.services.store.surveys.add(node_id, node.question, digits[:1], call_id=ctx.call_id)
        ctx.log("survey", answer=digits[:1], tty=True)
        await say(ctx, prompt_text(ctx, node.thanks_prompt) or _phrase("survey_thanks"), end="")
    return node.next


async def run_screen(ctx: CallContext, node_id: str, node: Any) -> str | None:
    for attempt in range(1, node.attempts + 1):
        await say(ctx, prompt_text(ctx, node.prompt) or f"To continue, type {node.key}.")
        digits = await keys(ctx, lambda d: len(d) >= 1)
        if digits[:1] == node.key:
            ctx.log("screen_passed", tty=True)
            return node.next
        ctx.log("screen_failed", keys=digits, attempt=attempt, tty=True)
    ctx.outcome = "screened_out"
    return node.fail


async def run_forward(ctx: CallContext, node_id: str, node: Any) -> str | None:
    ctx.log("forward_result", person=node.person, result="tty", outcome="tty_caller",
            detail="a TTY call cannot be put through by voice")
    ctx.last_forward_result = "no_answer"
    await say(ctx, _phrase("not_reached"), end="")
    return node.fallback


async def run_voicemail(ctx: CallContext, node_id: str, node: Any) -> str | None:
    mailbox = ctx.settings.mailboxes[node.mailbox]
    kind = node.greeting
    if kind == "auto":
        kind = "busy" if ctx.last_forward_result == "busy" else "unavailable"
    greeting = _phrase(f"{kind}_greeting", name=mailbox.name).split(".")[0]
    await say(ctx, f"{greeting}. Please type your message. End with SK.")
    ctx.log("recording", mailbox=node.mailbox, tty=True)
    typed = await tty.read(ctx.call, TURN_WAIT_MS, MESSAGE_PAUSE_MS, until=("SK",),
                           max_ms=MESSAGE_MAX_MS)
    text = tty.strip_marks(typed)
    if not text:
        ctx.log("message_dropped", mailbox=node.mailbox, chars=0, tty=True)
        return node.next
    caller = ctx.caller
    try:
        saved = ctx.services.voicemail.add_text(
            node.mailbox, text, call_id=ctx.call_id,
            caller_number=caller.number if caller else None,
            caller_name=caller.name if caller else None)
    except StoreError as exc:
        ctx.log("record_refused", reason=str(exc), tty=True)
        await say(ctx, _phrase("cannot_record"), end="")
        return node.next
    ctx.outcome = "voicemail"
    ctx.log("message_saved", mailbox=node.mailbox, message=saved.id, chars=len(text), tty=True)
    notify = ctx.services.notify
    if notify is not None:
        tty_message = getattr(notify, "tty_message", None)
        (tty_message or notify.voicemail)(saved.id, node.mailbox)
    else:
        ctx.services.store.messages.claim_notice(saved.id)  # no notifier: none owed
    await say(ctx, _phrase("message_saved"), end="")
    return node.next


TEXT_HANDLERS: dict[str, Handler] = {
    "menu": run_menu,
    "play": run_play,
    "hangup": run_hangup,
    "schedule": nodes.run_schedule,  # no audio: decides the same way
    "language": run_language,
    "extension": run_extension,
    "survey": run_survey,
    "screen": run_screen,
    "forward": run_forward,
    "voicemail": run_voicemail,
}
