"""Test call: call the attendant from the browser, hear it, press keys, see the path.

Page: GET /testcall.
WebSocket: /testcall/ws?flow=published|draft&csrf=TOKEN
    server -> browser: binary messages of 8 kHz mono int16 little-endian PCM (what the
    caller hears, in 20 ms frames, possibly several at once); JSON text messages
    {"type": "started", "flow"} / {"type": "event", "kind", "text", "node", "detail"} /
    {"type": "ended", "outcome", "path", "text"} / {"type": "error", "text"}.
    browser -> server: {"type": "key", "digit": "1"} / {"type": "hangup"}.
API: GET /api/testcall -> {"active", "limit", "draft"}.

Safety: the handshake passes the app's gate (session cookie; an Origin other than this
host is refused) and must also carry the session's CSRF token, so another site cannot
start a call even where a browser sends cookies on cross-site WebSockets. The call runs
on a `SimLine` inside this process, never on the phone line; a closed page or a lost
connection hangs the simulated caller up, and the engine then logs and ends the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from starlette.websockets import WebSocketState

from firmware.errors import ConfigError
from firmware.settings import Settings, parse
from firmware.web.auth import csrf_ok
from firmware.ivr.lookup import LOOKUP_PHRASES
from firmware.ivr.phrases import PHRASES
from firmware.web.context import N_, WebContext
from firmware.web.testcall_session import Busy, PageCall, PageCalls
from firmware.web.usage import HUNT_OUTCOMES

router = APIRouter()
log = logging.getLogger("ivrbox.web.testcall")

MAX_BATCH_FRAMES = 10  # frames sent in one binary message when the browser lags behind
MAX_CLIENT_MESSAGE_CHARS = 200
CLOSE_POLICY = 1008  # WebSocket close codes (RFC 6455)
CLOSE_TRY_LATER = 1013
_PLACEHOLDER = re.compile(r"\{\w+\}")  # a built-in sentence's {name}: not known to the page

NODE_TYPES = {  # node type -> how the transcript names it (translated when shown)
    "menu": N_("Menu"), "play": N_("Message"), "schedule": N_("Opening hours check"),
    "language": N_("Language choice"), "forward": N_("Forward to a person"), "voicemail": N_("Voicemail"),
    "callback": N_("Call-back request"), "mailbox_login": N_("Mailbox login"),
    "extension": N_("Extension dialling"), "hangup": N_("Hang up"), "screen": N_("Robot check"),
    "survey": N_("Survey"), "lookup": N_("Look-up"),
}


def _web(conn: Any) -> WebContext:
    return conn.app.state.web


def calls_of(app: Any) -> PageCalls:
    calls = getattr(app.state, "test_calls", None)
    if calls is None:
        calls = PageCalls()
        app.state.test_calls = calls
    return calls


def flow_settings(web: WebContext, flow: str) -> Settings:
    """The published config, or the owner's draft (ConfigError if the draft is broken)."""
    if flow == "draft" and web.publisher.has_draft():
        return parse(web.publisher.draft_text(), "draft")
    return web.settings()


def _sentence(table: dict[str, dict[str, str]], key: Any, language: Any) -> str:
    texts = table.get(str(key), {})
    text = texts.get(str(language)) or texts.get("en")
    return _PLACEHOLDER.sub("…", text) if text else str(key)


def _heard(d: dict[str, Any], t: Callable[[str], str]) -> str:
    """What a `prompt` event played (ivr/heard.py), named for the owner: a built-in
    sentence by its words (not its key), a look-up answer or a message by what it is."""
    if d.get("prompt"):
        return str(d["prompt"])
    if d.get("phrase"):
        return _sentence(PHRASES, d["phrase"], d.get("language"))
    if d.get("lookup_phrase"):
        return _sentence(LOOKUP_PHRASES, d["lookup_phrase"], d.get("language"))
    if d.get("lookup_phrases"):
        return " ".join(_sentence(LOOKUP_PHRASES, key, d.get("language")) for key in d["lookup_phrases"])
    if d.get("lookup_entry"):
        return t("the information found for the number")
    if d.get("words"):
        return " ".join(map(str, d["words"]))
    if d.get("speech") is not None:
        return t("spoken text ({n} characters)").format(n=d["speech"])
    if d.get("tone"):
        return t("the beep") if d["tone"] == "beep" else str(d["tone"])
    return t("a recording")


def describe(kind: str, d: dict[str, Any], t: Callable[[str], str],
             settings: Settings | None = None) -> str | None:
    """One transcript line for an engine event, in the page's language (None: not shown);
    a kind without words here is said as the call's timeline says it (with `settings`)."""
    node = d.get("node") or ""
    if kind == "ring":
        return t("Ringing ({n})").format(n=d.get("count", 1))
    if kind == "answered":
        return t("Answered")
    if kind == "node":
        label = NODE_TYPES.get(str(d.get("type")))
        return t("{type}: {node}").format(type=t(label) if label else d.get("type"), node=node)
    if kind == "prompt":  # a configured prompt, a built-in sentence, a read-out... (ivr/heard.py)
        return t("Playing “{prompt}”").format(prompt=_heard(d, t))
    if kind == "key":
        return t("You pressed {key}").format(key=d.get("digit"))
    if kind in ("choice", "extension"):
        return t("Choice {keys}: on to {target}").format(keys=d.get("keys") or d.get("digits"),
                                                         target=d.get("target"))
    if kind == "back":
        if d.get("target"):
            return t("Back to the previous menu: {target}").format(target=d.get("target"))
        return t("No menu before this one: it plays again")
    if kind == "invalid":
        return t("Not a valid choice: {keys}").format(keys=d.get("keys") or "")
    if kind == "timeout":
        return t("No key pressed in time")
    if kind == "language":
        return t("Language: {language}").format(language=d.get("language"))
    if kind == "schedule":
        from firmware.web.calltimeline import SCHEDULE  # it uses NODE_TYPES from here

        status = SCHEDULE.get(str(d.get("status")))
        return t("Opening hours say {status}: on to {target}").format(
            status=t(status) if status else d.get("status"), target=d.get("target"))
    if kind == "forward_dial":
        return t("Calling {person} (on a test call nobody answers)").format(person=d.get("person"))
    if kind == "forward_result":
        result = str(d.get("result") or d.get("outcome") or "")
        label = dict(HUNT_OUTCOMES).get(result)
        return t("Forward result: {result}").format(result=t(label) if label else result.replace("_", " "))
    if kind == "recording":
        return t("Recording a message for {mailbox}").format(mailbox=d.get("mailbox"))
    if kind == "message_saved":
        return t("Message saved in {mailbox}").format(mailbox=d.get("mailbox"))
    if kind == "caller_hangup":
        return t("You hung up")
    if kind == "error":
        return t("The test call failed. The details are in the system log.")
    if kind in ("call_end", "line_status", "tone", "recorded"):
        return None
    if settings is not None:
        from firmware.web.calltimeline import sentence  # it uses NODE_TYPES from here

        said = sentence(kind, d, settings, t)
        if said:
            return said
    return kind.replace("_", " ")


@router.get("/testcall", include_in_schema=False)
async def page(request: Request) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    calls = calls_of(request.app)
    return web.render(request, "testcall.html", title=t("Test call"), has_draft=web.publisher.has_draft(),
                      busy=calls.active >= calls.limit)


@router.get("/api/testcall", tags=["test call"], summary="Running test calls and whether a draft exists")
async def api_status(request: Request) -> dict[str, Any]:
    calls = calls_of(request.app)
    return {"active": calls.active, "limit": calls.limit, "draft": _web(request).publisher.has_draft(),
            "websocket": "/testcall/ws?flow=published|draft&csrf=TOKEN"}


async def _receive(ws: WebSocket, call: PageCall) -> None:
    """Keys and hang-up from the browser; a closed page hangs up."""
    try:
        while True:
            text = await ws.receive_text()
            if len(text) > MAX_CLIENT_MESSAGE_CHARS:
                continue
            try:
                msg = json.loads(text)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("type") == "key" and isinstance(msg.get("digit"), str):
                with contextlib.suppress(ValueError):
                    call.press(msg["digit"][:1])
            elif msg.get("type") == "hangup":
                call.hang_up()
    except (WebSocketDisconnect, RuntimeError):
        call.hang_up()


async def _send(ws: WebSocket, call: PageCall, t: Callable[[str], str], settings: Settings) -> None:
    pending = None
    while True:
        item = pending or await call.next_item()
        pending = None
        if item[0] == "audio":
            frames = [item[1]]
            while len(frames) < MAX_BATCH_FRAMES:
                more = call.poll_item()
                if more is None:
                    break
                if more[0] != "audio":
                    pending = more
                    break
                frames.append(more[1])
            await ws.send_bytes(np.concatenate(frames).astype("<i2").tobytes())
        elif item[0] == "event":
            kind, detail = item[1], item[2]
            text = describe(kind, detail, t, settings)
            if text is not None:
                await ws.send_json({"type": "event", "kind": kind, "text": text, "node": detail.get("node"),
                                    "detail": {k: v for k, v in detail.items() if isinstance(v, (str, int, float))}})
        else:
            summary = item[1]
            await ws.send_json({
                "type": "ended", "outcome": summary.outcome if summary else None,
                "path": list(summary.path) if summary else [],
                "text": t("Call ended.") if summary else t("The test call failed. The details are in the system log.")})
            return


@router.websocket("/testcall/ws")
async def testcall_ws(ws: WebSocket) -> None:
    web = _web(ws)
    state = web.request_state(ws)
    if state.session is None or not csrf_ok(state.csrf, ws.query_params.get("csrf")):
        await ws.close(code=CLOSE_POLICY)
        return
    await ws.accept()
    t = state.t
    flow = "draft" if ws.query_params.get("flow") == "draft" else "published"
    try:
        settings = flow_settings(web, flow)
    except ConfigError as exc:
        first = exc.problems[0] if exc.problems else None
        await ws.send_json({"type": "error", "text": t("The draft has problems; fix them before a test call.")
                            + (f" ({first.path}: {first.message})" if first else "")})
        await ws.close()
        return
    try:
        call = calls_of(ws.app).start(web.services, settings)
    except Busy:
        await ws.send_json({"type": "error", "text": t("Two test calls are already running. Try again in a moment.")})
        await ws.close(code=CLOSE_TRY_LATER)
        return
    receiver = asyncio.create_task(_receive(ws, call), name="test-call-keys")
    try:
        await ws.send_json({"type": "started", "flow": flow})
        await _send(ws, call, t, settings)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the page went away: hang up below
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        await call.finish()
        if ws.application_state == WebSocketState.CONNECTED and ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close()
