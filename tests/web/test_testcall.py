"""Test call over the WebSocket: keys reach the engine as DTMF audio, the transcript and
the audio arrive, the draft flow can be tried, and a closed page ends the call cleanly.

The call runs on `SimLine(realtime=True)` (the feature is a real-time one), so each test
lasts a few seconds of line time: prompts are shortened to keep it so.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from firmware.ivr.phrases import PHRASES
from firmware.settings import load
from firmware.web.i18n import Catalogues
from firmware.web.routes.testcall import calls_of, describe
from firmware.web.services import TEST_LINE_NAME
from tests.web.conftest import csrf_of

WS = "ws://ivrbox.local/testcall/ws"
pytestmark = pytest.mark.timeout(60)


def short_flow(data: dict[str, Any]) -> None:
    """Always open, one-word prompts, a short language choice: a test call is quick."""
    data["hours"] = {"weekly": {"mon-sun": ["00:00-24:00"]}}
    data["flow"]["nodes"]["welcome"]["timeout_s"] = 0.5
    for pid, words in {"welcome": ("Hi.", "你好。"), "main_menu": ("Press 1.", "請按一。"),
                       "info": ("Info.", "資訊。"), "goodbye": ("Bye.", "再見。")}.items():
        data["prompts"][pid] = {"en": words[0], "zh-TW": words[1]}


@pytest.fixture
def quick(client: TestClient) -> TestClient:
    client.app.state.web.publisher.edit(short_flow, "short test flow")
    return client


def messages(ws, until) -> tuple[list[dict], bytes]:
    """JSON messages (and the audio bytes between them) until `until(msg)` is true."""
    got, audio = [], bytearray()
    while True:
        m = ws.receive()
        if m.get("bytes") is not None:
            audio += m["bytes"]
            continue
        if m.get("type") == "websocket.close":
            raise AssertionError(f"closed early after {got}")
        msg = json.loads(m["text"])
        got.append(msg)
        if until(msg) or msg["type"] in ("ended", "error"):
            return got, bytes(audio)


def is_prompt(name: str):
    return lambda m: m.get("kind") == "prompt" and m["detail"].get("prompt") == name


def wait_idle(client: TestClient) -> None:
    deadline = time.monotonic() + 10  # the server thread ends the call on its own clock
    while calls_of(client.app).active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls_of(client.app).active == 0


def test_keys_reach_the_engine_as_dtmf_and_the_transcript_and_audio_arrive(quick: TestClient, services) -> None:
    with quick.websocket_connect(f"{WS}?flow=published&csrf={csrf_of(quick)}") as ws:
        first, heard = messages(ws, is_prompt("main_menu"))
        assert first[0] == {"type": "started", "flow": "published"}
        time.sleep(0.5)  # let half a second of the menu prompt play before the key
        kinds = [m.get("kind") for m in first]
        assert kinds.index("ring") < kinds.index("answered") < kinds.index("node")
        ws.send_text(json.dumps({"type": "key", "digit": "1"}))
        rest, audio = messages(ws, is_prompt("info"))
        key = next(m for m in rest if m.get("kind") == "key")
        assert key["detail"]["digit"] == "1" and key["detail"]["source"] == "audio", rest  # heard as tones
        choice = next(m for m in rest if m.get("kind") == "choice")
        assert choice["detail"]["target"] == "info" and "info" in choice["text"]
        pcm = np.frombuffer(heard + audio, dtype="<i2")
        assert len(pcm) >= 8000 * 0.3 and np.abs(pcm).max() > 1000  # the menu prompt, spoken
        assert len(pcm) % 160 == 0  # whole 20 ms frames
        ws.send_text(json.dumps({"type": "hangup"}))
        end, _ = messages(ws, lambda m: False)
    assert end[-1]["type"] == "ended" and end[-1]["path"][2:4] == ["main_menu", "info"]
    wait_idle(quick)
    call = services.store.calls.recent(1)[0]
    assert call.line == TEST_LINE_NAME and call.ended_ms is not None
    assert call.end_reason == "caller_hangup:loop_drop"  # the page hung up, as a caller would


def test_closing_the_page_hangs_up_and_leaves_nothing_running(quick: TestClient, services) -> None:
    with quick.websocket_connect(f"{WS}?csrf={csrf_of(quick)}") as ws:
        messages(ws, lambda m: m.get("kind") == "answered")
        assert calls_of(quick.app).active == 1
    wait_idle(quick)
    call = services.store.calls.recent(1)[0]
    assert call.ended_ms is not None and call.outcome == "hung_up"


def test_the_draft_flow_can_be_tried_before_publishing(quick: TestClient) -> None:
    publisher = quick.app.state.web.publisher

    def to_goodbye(data: dict[str, Any]) -> None:
        data["flow"]["nodes"]["main_menu"]["options"]["4"] = "goodbye"

    publisher.edit_draft(to_goodbye)
    with quick.websocket_connect(f"{WS}?flow=draft&csrf={csrf_of(quick)}") as ws:
        assert messages(ws, lambda m: m["type"] == "started")[0][0]["flow"] == "draft"
        messages(ws, is_prompt("main_menu"))
        ws.send_text(json.dumps({"type": "key", "digit": "4"}))  # only the draft knows 4
        got, _ = messages(ws, lambda m: m.get("kind") == "choice")
        assert got[-1]["detail"]["target"] == "goodbye"
        ws.send_text(json.dumps({"type": "hangup"}))
        messages(ws, lambda m: False)
    publisher.edit_draft(lambda data: data["flow"].__setitem__("entry", "nowhere"))
    with quick.websocket_connect(f"{WS}?flow=draft&csrf={csrf_of(quick)}") as ws:
        got, _ = messages(ws, lambda m: False)
    assert got[-1]["type"] == "error" and "problems" in got[-1]["text"]
    wait_idle(quick)


def test_at_most_two_test_calls(quick: TestClient) -> None:
    csrf = csrf_of(quick)
    with quick.websocket_connect(f"{WS}?csrf={csrf}") as a, quick.websocket_connect(f"{WS}?csrf={csrf}") as b:
        messages(a, lambda m: m["type"] == "started")
        messages(b, lambda m: m["type"] == "started")
        with quick.websocket_connect(f"{WS}?csrf={csrf}") as c:
            got, _ = messages(c, lambda m: False)
            assert got[-1]["type"] == "error" and "Two test calls" in got[-1]["text"]
    wait_idle(quick)


def test_the_handshake_needs_session_csrf_and_our_origin(quick: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as closed:
        with quick.websocket_connect(f"{WS}?csrf=forged") as ws:
            ws.receive()
    assert closed.value.code == 1008
    with pytest.raises(WebSocketDenialResponse) as refused:
        with quick.websocket_connect(f"{WS}?csrf={csrf_of(quick)}", headers={"origin": "http://evil.example"}):
            pass
    assert refused.value.status_code == 403
    stranger = TestClient(quick.app, base_url="http://ivrbox.local")
    with pytest.raises(WebSocketDenialResponse) as refused:
        with stranger.websocket_connect(f"{WS}?csrf=x"):
            pass
    assert refused.value.status_code in (303, 401)
    assert calls_of(quick.app).active == 0


def test_the_page_has_a_keypad_and_no_inline_script(quick: TestClient) -> None:
    html = quick.get("/testcall").text
    for key in "0123456789*#":
        assert f'data-digit="{key}"' in html
    assert '<script src="/static/testcall.js' in html and "<script>" not in html
    assert quick.get("/api/testcall").json()["limit"] == 2


def test_transcript_lines_are_translated() -> None:
    zh = {"You pressed {key}": "您按了 {key}"}
    assert describe("key", {"digit": "5"}, lambda s: zh.get(s, s)) == "您按了 5"
    assert describe("call_end", {}, str) is None
    assert describe("node", {"type": "menu", "node": "main"}, str) == "Menu: main"


def test_every_sound_of_the_transcript_is_named() -> None:
    assert describe("prompt", {"prompt": "main", "language": "en"}, str) == "Playing “main”"
    assert describe("prompt", {"phrase": "not_reached", "language": "en"}, str) == \
        f"Playing “{PHRASES['not_reached']['en']}”"  # its words, not its key
    assert describe("prompt", {"words": ["digit-2", "digit-0"]}, str) == "Playing “digit-2 digit-0”"
    assert describe("prompt", {"tone": "beep"}, str) == "Playing “the beep”"
    # the lookup node's sentences by their words; the entry read out by what it is
    assert describe("prompt", {"lookup_phrase": "wait", "language": "zh-TW"}, str) == "Playing “請稍候。”"
    offer = describe("prompt", {"lookup_phrases": ["repeat_key", "operator_key"], "language": "en"}, str)
    assert offer == "Playing “To hear it again, press …. For the operator, press ….”"
    zh = Catalogues().translator("zh-TW").gettext
    assert "查詢到的號碼資料" in describe("prompt", {"lookup_entry": True, "language": "en"}, zh)


def test_the_transcript_never_shows_raw_event_names_or_codes() -> None:
    """Kinds the transcript had no words for ("greeting", "message dropped", "lookup"),
    result codes ("busy", "closed") and unnamed sounds ("None", "other") are said in
    words, in the page's language: the same words as the call's timeline."""
    settings = load(Path(__file__).resolve().parents[2] / "config" / "default.yaml")
    events = (
        ("greeting", {"mailbox": "support", "node": "support"}),
        ("message_dropped", {"mailbox": "support"}),
        ("lookup", {"result": "not_found", "key": "12"}),
        ("forward_result", {"result": "busy", "person": "sales"}),
        ("schedule", {"status": "closed", "target": "closed"}))
    assert {kind: describe(kind, d, str, settings) for kind, d in events} == {"greeting": "Played the greeting of Technical support",
                     "message_dropped": "Nothing to keep: the message was empty or too short",
                     "lookup": "Looked up 12: Not found",
                     "forward_result": "Forward result: Busy",
                     "schedule": "Opening hours say closed: on to closed"}
    assert describe("prompt", {"speech": 23, "language": "en"}, str) == "Playing “spoken text (23 characters)”"
    assert describe("prompt", {"audio": "other", "ms": 900}, str) == "Playing “a recording”"
    assert describe("prompt", {"phrase": "whisper", "language": "en"}, str) == \
        "Playing “" + PHRASES["whisper"]["en"].replace("{key}", "…") + "”"
    zh = Catalogues().translator("zh-TW").gettext
    said = {kind: describe(kind, d, zh, settings) for kind, d in events}
    assert said["forward_result"] == "轉接結果：忙線" and "非營業" in said["schedule"]
    assert all(code not in " ".join(said.values()) for code in ("busy", "not_found", "message dropped", "greeting"))
