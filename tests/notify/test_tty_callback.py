"""A callback asked for from a text telephone: the owner is told to call back by TTY or
relay, in the messenger text (en, zh-TW), the signed webhook's data and the e-mail."""

from __future__ import annotations

import asyncio
from pathlib import Path

from firmware.notify.notifier import callback_email
from firmware.notify.presets import render_text
from firmware.notify.webhook import enqueue_event, make_event
from tests.notify.receiver import Receiver, Reply
from tests.notify.test_webhook import SECRET, T0_MS, TG_TOKEN, Clock, rig, settings_with

CALLER = {"number": "0223456789", "name": None}


def test_messenger_text_says_tty_or_relay_in_both_languages() -> None:
    settings = settings_with(f"a: {{url: 'http://x.example', secret: {SECRET}}}")
    tty = make_event("callback", settings, {"number": "0223456789", "caller": CALLER, "tty": True},
                     T0_MS)
    assert render_text(tty, "en") == ("[Test Office] 0223456789 asks to be called back at 0223456789"
                                      " by text telephone (TTY) or a relay service.")
    assert "以文字電話（TTY）或轉接服務回電" in render_text(tty, "zh-TW")
    voice = make_event("callback", settings, {"number": "0223456789", "caller": CALLER,
                                              "tty": False}, T0_MS)
    assert "TTY" not in render_text(voice, "en")


def test_a_messenger_receives_the_tty_callback_text(tmp_path: Path) -> None:
    with Receiver([Reply(200, '{"ok": true, "result": {}}')]) as rx:
        settings = settings_with(f"""\
            tg: {{preset: telegram, token: "{TG_TOKEN}", target: -100123, api_base: '{rx.url}/'}}
        """)
        store, outbox = rig(tmp_path, settings, Clock())
        event = make_event("callback", settings, {"number": "5550142", "caller": CALLER,
                                                  "tty": True}, T0_MS)
        enqueue_event(outbox, settings, event)
        asyncio.run(outbox.deliver_due())
        [seen] = rx.requests
        assert seen.json()["text"].endswith("by text telephone (TTY) or a relay service.")
        store.close()


def test_callback_email_tells_the_owner_to_use_a_tty_or_relay() -> None:
    payload = {"recipients": ["office@example.com"], "number": "5550142", "name": None,
               "requested_ms": T0_MS, "tz": "Asia/Taipei", "business": "Test Office"}
    tty = callback_email({**payload, "tty": True}, "box@example.com")
    assert tty["Subject"] == "Call back 5550142 (A caller) by TTY"
    assert "call back\nwith a TTY, or through a relay service" in tty.get_content()
    voice = callback_email(payload, "box@example.com")  # jobs queued before this change
    assert voice["Subject"] == "Call back 5550142 (A caller)" and "TTY" not in voice.get_content()
