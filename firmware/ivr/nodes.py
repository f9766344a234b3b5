"""Handlers for the node types that only talk and listen: menu, play, hangup, schedule,
language, extension, survey and screen.

API:
    HANDLERS[node_type] -> async handler(ctx, node_id, node) -> next node id | None
    schedule_status(ctx) -> "open" | "closed" | "holiday"
    OVERRIDE_KEY                      key-value entry holding the day/night override

A handler returns the id of the node to run next, or None to say goodbye and hang up.
Nodes that need the line itself (forward) or storage (voicemail, mailbox login,
callback) live in their own modules and register here too (see `session.py`).
A caller is never stuck: every wait has a timeout counted in samples, every retry loop
is bounded, and the flow check guarantees every path ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from firmware.ivr.context import CallContext
from firmware.settings.flow import (
    ExtensionNode,
    HangupNode,
    LanguageNode,
    MenuNode,
    PlayNode,
    ScheduleNode,
    ScreenNode,
    SurveyNode,
)
from firmware.settings.hours import status as hours_status

Handler = Callable[[CallContext, str, Any], Awaitable[str | None]]
OVERRIDE_KEY = "schedule.override"  # {"mode": "open"|"closed", "until_ms": int|None}
MAX_REPEATS = 5  # replays of one menu ('*', or back in the first menu) before they count as failures
MAX_EXTENSION_DIGITS = 8
S_TO_MS = 1000.0


def schedule_status(ctx: CallContext) -> str:
    override = ctx.services.store.kv.get(OVERRIDE_KEY)
    if isinstance(override, dict) and override.get("mode") in ("open", "closed", "holiday"):
        until = override.get("until_ms")
        if until is None or ctx.wall_ms() < int(until):
            return str(override["mode"])
    return hours_status(ctx.settings.hours, ctx.local_now())


async def _retry_prompt(ctx: CallContext, prompt_id: str | None, fallback: str) -> None:
    if prompt_id:
        await ctx.say(prompt_id)
    else:
        await ctx.say_phrase(fallback)


async def run_menu(ctx: CallContext, node_id: str, node: MenuNode) -> str | None:
    retries = node.retries or ctx.settings.limits.max_retries
    operator = node.operator or ctx.settings.flow.operator
    options = dict(node.options)

    def is_prefix(keys: str) -> bool:
        return any(option.startswith(keys) for option in options)

    failures = repeats = 0
    replay = True
    timeout_ms = node.first_key_timeout_s * S_TO_MS
    while failures < retries:
        if replay and not ctx.call.has_keys():  # a caller who typed ahead knows the menu
            await ctx.say(node.prompt)
        replay = True
        key = await ctx.call.wait_key(timeout_ms)
        timeout_ms = node.first_key_timeout_s * S_TO_MS
        if key is None:
            failures += 1
            ctx.log("timeout", attempt=failures)
            if failures < retries:
                await _retry_prompt(ctx, node.timeout_prompt, "timeout")
            continue
        choice = key
        if not is_prefix(choice):
            if key == node.repeat_key and repeats < MAX_REPEATS:
                repeats += 1
                ctx.log("repeat")
                continue
            if key == node.operator_key and operator:
                ctx.log("operator")
                return operator
            if key == node.more_time_key:
                ctx.log("more_time")
                await ctx.say_phrase("more_time")
                timeout_ms = node.more_time_s * S_TO_MS
                replay = False
                continue
            if key == node.back_key:
                back = ctx.previous_menu()
                if back is not None:
                    ctx.log("back", target=back)
                    return back
                if repeats < MAX_REPEATS:  # the call's first menu: nowhere to go back to
                    repeats += 1
                    ctx.log("back", target=None)
                    continue
        while any(o != choice and o.startswith(choice) for o in options):
            more = await ctx.call.wait_key(node.inter_key_timeout_s * S_TO_MS)
            if more is None:
                break
            choice += more
        if choice in options:
            ctx.log("choice", keys=choice, target=options[choice])
            return options[choice]
        failures += 1
        ctx.log("invalid", keys=choice, attempt=failures)
        if failures < retries:
            await _retry_prompt(ctx, node.invalid_prompt, "invalid")
    ctx.log("retries_exhausted", target=node.final)
    return node.final


async def run_play(ctx: CallContext, node_id: str, node: PlayNode) -> str | None:
    await ctx.say(node.prompt)
    return node.next


async def run_hangup(ctx: CallContext, node_id: str, node: HangupNode) -> str | None:
    if node.prompt:
        await ctx.say(node.prompt, barge_in=False)
    else:
        await ctx.say_phrase("goodbye", barge_in=False)
    ctx.outcome = ctx.outcome if ctx.outcome != "hung_up" else "handled_in_menu"
    ctx.end_reason = ctx.end_reason or "goodbye"
    return None


async def run_schedule(ctx: CallContext, node_id: str, node: ScheduleNode) -> str | None:
    status = schedule_status(ctx)
    target = node.branch(status)
    ctx.log("schedule", status=node.override or status, target=target)
    return target


async def run_language(ctx: CallContext, node_id: str, node: LanguageNode) -> str | None:
    await ctx.say(node.prompt)
    key = await ctx.call.wait_key(node.timeout_s * S_TO_MS)
    if key is not None and key in node.options:
        ctx.language = node.options[key]
        ctx.log("language", language=ctx.language)
    elif key is not None:
        ctx.call.push_back(key)  # a caller who already knows the menu typed ahead
    return node.next


async def run_extension(ctx: CallContext, node_id: str, node: ExtensionNode) -> str | None:
    retries = node.retries or ctx.settings.limits.max_retries
    for attempt in range(1, retries + 1):
        await ctx.say(node.prompt)
        digits = await ctx.call.collect(
            MAX_EXTENSION_DIGITS,
            node.first_digit_timeout_s * S_TO_MS,
            node.inter_digit_timeout_s * S_TO_MS,
        )
        if digits in node.extensions:
            ctx.log("extension", digits=digits, target=node.extensions[digits])
            return node.extensions[digits]
        ctx.log("invalid" if digits else "timeout", keys=digits, attempt=attempt)
        if attempt < retries:
            await _retry_prompt(ctx, node.invalid_prompt, "invalid" if digits else "timeout")
    return node.final


async def run_survey(ctx: CallContext, node_id: str, node: SurveyNode) -> str | None:
    await ctx.say(node.question)
    key = await ctx.call.wait_key(node.timeout_s * S_TO_MS)
    if key is not None and key in node.answers:
        ctx.services.store.surveys.add(node_id, node.question, key, call_id=ctx.call_id)
        ctx.log("survey", answer=key)
        if node.thanks_prompt:
            await ctx.say(node.thanks_prompt)
        else:
            await ctx.say_phrase("survey_thanks")
    return node.next


async def run_screen(ctx: CallContext, node_id: str, node: ScreenNode) -> str | None:
    for attempt in range(1, node.attempts + 1):
        ctx.call.clear_keys()
        await ctx.say(node.prompt)
        key = await ctx.call.wait_key(node.timeout_s * S_TO_MS)
        if key == node.key:
            ctx.log("screen_passed")
            return node.next
        ctx.log("screen_failed", keys=key or "", attempt=attempt)
    ctx.outcome = "screened_out"
    return node.fail


HANDLERS: dict[str, Handler] = {
    "menu": run_menu,
    "play": run_play,
    "hangup": run_hangup,
    "schedule": run_schedule,
    "language": run_language,
    "extension": run_extension,
    "survey": run_survey,
    "screen": run_screen,
}
