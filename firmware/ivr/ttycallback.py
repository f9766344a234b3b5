"""The callback node in text, for a TTY caller.

API:
    await run_callback(ctx, node_id, node) -> node.next

The box offers the caller-ID number in text; the caller types Y (or the node's
confirm digit) to accept it, N (or the other-number digit) to give another, or simply
types the other number (ending with Enter, GA or #). A typed number is sent back as
text and confirmed the same way. The request is stored and notified exactly as a spoken
one (`mailnodes.store_callback`), marked `by_tty`: the owner must call back by TTY or
through a relay service, since a voice call would reach a caller who cannot hear it.
The limits are the spoken node's (digits, tries), and like it the box never dials.
With `other_key: null` nothing is typed: a caller whose number did not come with the
call is told so and goes on to `next`.
"""

from __future__ import annotations

from firmware.ivr.context import CallContext
from firmware.ivr.mailnodes import (
    CALLBACK_TRIES,
    MAX_CALLBACK_DIGITS,
    MIN_CALLBACK_DIGITS,
    store_callback,
)
from firmware.ivr.ttynodes import prompt_text
from firmware.ivr.ttyturn import answer, digits, is_no, is_yes, say
from firmware.settings.flow import CallbackNode

ASK_NUMBER = "Please type your phone number, then press Enter."
TOO_SHORT = "That number is too short."
READ_BACK = "We will call you back by TTY or relay at {number}."
CONFIRM_OR_OTHER = "Type Y to confirm, or type another number."
CONFIRM_OR_NO = "Type Y to confirm or N to cancel."
THANKS = "Thank you. We will call you back by TTY or relay as soon as we can."
ABANDONED = "No call back was arranged."
NO_NUMBER = "Your number did not come with this call."


async def run_callback(ctx: CallContext, node_id: str, node: CallbackNode) -> str | None:
    number = ctx.caller.number if ctx.caller and ctx.caller.number else None
    may_type = node.other_key is not None  # null: no typed numbers, as for a voice caller
    lead = prompt_text(ctx, node.prompt)
    if number is None and not may_type:
        ctx.log("callback_abandoned", reason="no_number", tty=True)
        await say(ctx, f"{lead} {NO_NUMBER} {ABANDONED}", end="")
        return node.next
    confirmed = False
    for _ in range(CALLBACK_TRIES):
        if number is None:
            await say(ctx, f"{lead} {ASK_NUMBER}")
            typed = digits(await answer(ctx, max_digits=MAX_CALLBACK_DIGITS))
            if len(typed) < MIN_CALLBACK_DIGITS:
                lead = TOO_SHORT if typed else ""
                continue
            lead = ""
            number = typed
        question = CONFIRM_OR_OTHER if may_type else CONFIRM_OR_NO
        await say(ctx, f"{lead} {READ_BACK.format(number=number)} {question}")
        lead = ""
        reply = await answer(ctx, max_digits=MAX_CALLBACK_DIGITS)
        if is_yes(reply, node.confirm_key):
            confirmed = True
            break
        other = digits(reply)
        if may_type and len(other) >= MIN_CALLBACK_DIGITS:
            number = other  # typed straight away: read it back next
        elif is_no(reply, node.other_key):
            if not may_type:
                break
            number = None
    if not confirmed or number is None:
        ctx.log("callback_abandoned", tty=True)
        await say(ctx, ABANDONED, end="")
        return node.next
    store_callback(ctx, node, number, by_tty=True)
    await say(ctx, prompt_text(ctx, node.done_prompt) or THANKS, end="")
    return node.next
