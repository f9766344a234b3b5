"""Hunt lists: a forward node tries its people in order until one takes the call.

API:
    await hunt(ctx, node, flash_ms, try_one) -> Attempt    the accepted attempt, or the
        last one that failed once the list is exhausted
    OUTCOMES                     what the call log's `forward_result.outcome` may say
    outcome_of(attempt) -> str   "accepted", "busy", "no_answer", "declined",
                                 "voicemail", "outside_hours", "no_dial_tone", "limit"

`try_one(ctx, node, flash_ms)` is the single-person forward of `transfer.py` (flash,
recall dial tone, dial, listen, whisper): it is passed in, so this module only decides
*who* is tried and logs how each try ended. A whole list counts as one forward
against `limits.max_forwards`. Every entry is a key of `people` (the
config check refuses anything else), so the box only ever dials configured numbers.
Someone outside their hours is skipped without dialling. Between two attempts the
caller, back from hold, hears "still trying, please hold".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from firmware.ivr.context import CallContext
from firmware.ivr.phrases import phrase
from firmware.settings.flow import ForwardNode, HuntEntry
from firmware.settings.hours import is_open

TryOne = Callable[[CallContext, ForwardNode, int], Awaitable[Any]]
OUTCOMES = ("accepted", "busy", "no_answer", "declined", "voicemail", "outside_hours",
            "no_dial_tone", "limit")
VOICEMAIL_DETAIL = "no key"  # transfer._whisper: answered, then never pressed a key
STOP_RESULTS = frozenset({"accepted", "limit"})  # no point trying the next person


def outcome_of(attempt: Any) -> str:
    """The call log's word for one try: a party that answered and never pressed a key
    is a mobile's (or an answering machine's) voicemail picking up."""
    if attempt.result == "declined" and str(attempt.detail).startswith(VOICEMAIL_DETAIL):
        return "voicemail"
    return str(attempt.result)


def _as_single(node: ForwardNode, entry: HuntEntry) -> ForwardNode:
    """The node as `try_one` expects it: one person with this entry's settings."""
    return node.model_copy(update={
        "person": entry.person,
        "people": None,
        "ring_timeout_s": entry.ring_timeout_s or node.ring_timeout_s,
        "accept_key": node.accept_key if entry.accept else None,
    })


async def _still_trying(ctx: CallContext) -> None:
    text = phrase("still_trying", ctx.language)
    await ctx.call.play(await ctx.render(text), barge_in=False)


async def hunt(ctx: CallContext, node: ForwardNode, flash_ms: int, try_one: TryOne) -> Any:
    entries = node.hunt()
    attempt: Any = None
    dialled_before = False
    forwards_before = ctx.forwards  # a hunt list counts as one forward against the limit
    for index, entry in enumerate(entries, start=1):
        person = ctx.settings.people[entry.person]
        takes_calls = person.hours is None or is_open(person.hours, ctx.local_now())
        if dialled_before and takes_calls:
            await _still_trying(ctx)
        ctx.forwards = forwards_before
        attempt = await try_one(ctx, _as_single(node, entry), flash_ms)  # checks hours too
        dialled_before = dialled_before or attempt.result not in ("outside_hours", "limit")
        ctx.log("forward_result", person=entry.person, result=attempt.result,
                detail=attempt.detail, outcome=outcome_of(attempt), attempt=index,
                of=len(entries))
        if attempt.result in STOP_RESULTS:
            break
    ctx.forwards = forwards_before + (1 if dialled_before else 0)
    if len(entries) > 1 and attempt.result != "accepted":
        ctx.log("hunt_exhausted", tried=len(entries))
    return attempt
