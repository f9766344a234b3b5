"""Run one answered call through the flow, node by node, until it ends.

API:
    HANDLERS[node_type] -> handler        every node type's handler
    await run_flow(ctx, entry)            returns when the call is over (never raises
                                          for a caller leaving; logs why it ended)

The call ends when a handler returns None (a goodbye), when the caller hangs up
(loop-current drop, or the exchange's tone), when the maximum call length is reached
(the caller is told), when an office phone is picked up, or when the line is lost.
Each way is written to the call log as `end_reason`, with the node it happened in.
Anything else that goes wrong inside the flow (a damaged file, text-to-speech missing,
a full disk) is a bug or a fault of this box, not the caller's: it is logged as an
`error` event, the call ends with outcome "error" after a spoken apology (if even that
can be played), and the engine goes on to the next call.
"""

from __future__ import annotations

import logging

from firmware.ivr import nodes
from firmware.ivr.call import CallEnded, CallerHungUp, CallTooLong
from firmware.ivr.context import CallContext
from firmware.ivr.lookup import run_lookup
from firmware.ivr.mailnodes import run_callback, run_mailbox_login, run_voicemail
from firmware.ivr.transfer import run_forward
from firmware.ivr.tty import TtyHeard
from firmware.ivr.ttyflow import TEXT_HANDLERS
from firmware.ivr.ttynodes import text_goodbye

HANDLERS: dict[str, nodes.Handler] = {
    **nodes.HANDLERS,
    "forward": run_forward,
    "voicemail": run_voicemail,
    "callback": run_callback,
    "mailbox_login": run_mailbox_login,
    "lookup": run_lookup,
}
log = logging.getLogger("ivrbox.session")
GOODBYE_GRACE_MS = 10_000
MAX_NODE_VISITS = 200  # a guard far above any real path; the flow check bounds loops


async def _goodbye(ctx: CallContext, key: str) -> None:
    if ctx.call.tty.heard:
        await text_goodbye(ctx, key)
        return
    try:
        await ctx.say_phrase(key, barge_in=False)
    except TtyHeard:  # a TTY heard during the goodbye: say it in text
        await text_goodbye(ctx, key)


async def _run_node(ctx: CallContext, node_id: str, node: object, kind: str) -> str | None:
    """Run a node by voice, or in text once a TTY is heard (then this node starts over)."""
    if ctx.call.tty.heard:
        return await TEXT_HANDLERS[kind](ctx, node_id, node)
    try:
        return await HANDLERS[kind](ctx, node_id, node)
    except TtyHeard:
        ctx.call.clear_keys()
        return await TEXT_HANDLERS[kind](ctx, node_id, node)


async def run_flow(ctx: CallContext, entry: str) -> None:
    node_id: str | None = entry
    last_type = ""
    ctx.call.tty.announce = ctx.settings.business.announce_tty
    try:
        visits = 0
        while node_id is not None:
            visits += 1
            if visits > MAX_NODE_VISITS:
                ctx.end_reason = "loop_guard"
                await _goodbye(ctx, "goodbye")
                return
            node = ctx.settings.flow.node(node_id)
            last_type = node.type  # type: ignore[attr-defined]
            ctx.path.append(node_id)
            ctx.log("node", type=last_type)
            node_id = await _run_node(ctx, node_id, node, last_type)
        if last_type not in ("hangup", "forward"):
            await _goodbye(ctx, "goodbye")
        ctx.end_reason = ctx.end_reason or "goodbye"
        if ctx.outcome == "hung_up":
            ctx.outcome = "handled_in_menu"
    except CallTooLong:
        ctx.end_reason = "max_call_length"
        ctx.log("max_call_length")
        ctx.call.grace(GOODBYE_GRACE_MS)
        try:
            await _goodbye(ctx, "call_too_long")
        except CallEnded:
            pass
    except CallerHungUp as gone:
        ctx.end_reason = gone.cause
        ctx.log("caller_hangup", how=gone.cause)
    except CallEnded as ended:
        ctx.end_reason = ended.cause
        ctx.log("ended", cause=ended.cause)
        if ended.cause == "office_picked_up":
            ctx.outcome = "office_picked_up"
    except Exception as exc:  # never dead air, never a stopped engine: apologise and end
        log.exception("call %s failed in node %s", ctx.call_id, ctx.node)
        ctx.outcome, ctx.end_reason = "error", f"error:{type(exc).__name__}"
        ctx.log("error", type=type(exc).__name__, detail=str(exc)[:200])
        await _apologise(ctx)


async def _apologise(ctx: CallContext) -> None:
    ctx.call.grace(GOODBYE_GRACE_MS)
    try:
        await _goodbye(ctx, "error_goodbye")
    except CallEnded:
        pass
    except Exception:  # even the apology cannot be rendered: hang up without it
        log.exception("call %s: the apology failed too", ctx.call_id)
