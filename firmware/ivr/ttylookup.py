"""The lookup node in text, for a TTY caller: the key is typed, the entry sent as text.

API:
    await run_lookup(ctx, node_id, node) -> next node id | None

The caller types the number (ending with Enter, GA or "#", or at `max_digits`); the
answer comes from the spoken lookup's own `look_up`, so the source, the per-call
attempt limit (counted from the call log, shared with spoken lookups in the same call)
and the `lookup` event with a hashed key for private nodes are the same. The entry's
English text (else the one for any language) is sent as Baudot, then: repeat, another
number, operator, or GA to go on. What a private node's caller types or is shown is
kept out of the call log (only its length).
"""

from __future__ import annotations

from firmware.ivr import tty
from firmware.ivr.context import CallContext
from firmware.ivr.lookup import LOOKUP_PHRASES, MAX_REPEATS, MAX_SILENT_PROMPTS, lookups_so_far, look_up
from firmware.ivr.ttynodes import prompt_text
from firmware.ivr.ttyturn import answer, digits, say
from firmware.settings.flow import LookupNode

TEXT_LANGUAGE = "en"
ASK_HINT = "Type the number, then press Enter."
FOUND = "For number {key}:"
NO_TEXT = "This entry can only be read out by voice."
CHOICES = {"repeat_key": "{key} to see it again", "another_key": "{key} for another number",
           "operator_key": "{key} for the operator"}  # done_key, like GA, goes on


def _phrase(name: str) -> str:
    return LOOKUP_PHRASES[name][TEXT_LANGUAGE]


def _offer_text(offered: list[tuple[str, str]]) -> str:
    parts = [CHOICES[field].format(key=key) for field, key in offered if field in CHOICES]
    return "Type " + ", ".join(parts) + ", or GA to go on." if parts else "Type GA to go on."


async def _show(ctx: CallContext, node: LookupNode, key: str, text: str) -> str | None:
    """The entry and its choices until one that leaves it; returns the chosen field."""
    intro = prompt_text(ctx, node.found_prompt) or FOUND.format(key=key)
    body = text if tty.lines(text) else NO_TEXT
    offered = [(field, k) for field, k in node.menu_keys().items() if k is not None]
    for repeat in range(MAX_REPEATS + 1):
        await say(ctx, f"{intro} {body} {_offer_text(offered)}", private=node.private)
        reply = await answer(ctx, max_digits=1, secret=node.private)
        choice = next((field for field, k in offered if reply[:1] == k), None)
        if choice != "repeat_key" or repeat == MAX_REPEATS:
            return choice
        ctx.log("lookup_repeat", tty=True)
    return None


async def run_lookup(ctx: CallContext, node_id: str, node: LookupNode) -> str | None:
    operator = node.operator or ctx.settings.flow.operator
    used, silent = lookups_so_far(ctx), 0
    lead = ""
    while True:
        if used >= node.attempts:
            ctx.log("lookup_limit", attempts=used, tty=True)
            await say(ctx, f"{lead} {_phrase('too_many')}", end="")
            return node.fallback
        await say(ctx, f"{lead} {prompt_text(ctx, node.prompt)} {ASK_HINT}")
        lead = ""
        key = digits(await answer(ctx, max_digits=node.max_digits, secret=node.private))
        if not key:
            silent += 1
            ctx.log("timeout", attempt=silent, tty=True)
            if silent >= MAX_SILENT_PROMPTS:
                return node.next
            continue
        used += 1
        if node.table is None and len(key) >= node.min_digits:
            await say(ctx, _phrase("wait"), end="")  # an endpoint may take a moment
        found = await look_up(ctx, node, key, used, language=TEXT_LANGUAGE, hold_words=False,
                              tty=True)
        if found.status == "too_short":
            lead = _phrase("too_short")
            continue
        if found.status == "failed":
            await say(ctx, _phrase("try_later"), end="")
            return node.fallback
        if found.status != "found":
            lead = prompt_text(ctx, node.not_found_prompt) or _phrase("not_found")
            continue
        choice = await _show(ctx, node, key, found.text or "")
        if choice == "another_key":
            ctx.log("lookup_another", tty=True)
            continue
        if choice == "operator_key" and operator:
            ctx.log("operator", tty=True)
            return operator
        return node.next
