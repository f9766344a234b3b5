"""What each call event tells a webhook: the `data` of call_ended, voicemail, tty_message,
callback and survey events, read from the store and queued in the outbox.

API:
    HookEvents(outbox, store, settings_provider)
        .call_ended(call_id)                       outcome, duration, caller, path
        .message_saved(message_id)                 voicemail (with a link) or tty_message (text)
        .callback_requested(callback_id, mailbox)
        .survey_answered(call_id, survey, answer)
        .engine_sink() -> (kind, detail) -> None   feeds call_end and survey engine events in
    message_url(settings, message_id) -> str | None    http://<page>/voicemail/<id>

Called from the call path, so every method only writes outbox rows, never raises (a
broken hook must not end a call), and does nothing at all when no hook is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from firmware.notify.webhook import OutboxLike, enqueue_event, make_event
from firmware.settings import Settings
from firmware.store import Store

log = logging.getLogger(__name__)

EventSink = Callable[[str, dict[str, Any]], None]


def message_url(settings: Settings, message_id: int) -> str | None:
    return f"{settings.page_url}/voicemail/{message_id}" if settings.page_url else None


def _caller(number: str | None, name: str | None) -> dict[str, str | None]:
    return {"number": number, "name": name}


class HookEvents:
    def __init__(self, outbox: OutboxLike, store: Store, settings: Callable[[], Settings]):
        self._outbox = outbox
        self._store = store
        self._settings = settings

    def _send(self, kind: str, build: Callable[[Settings], dict[str, Any] | None],
              occurred_ms: int | None = None) -> list[int]:
        try:
            settings = self._settings()
            if not any(h.wants(kind) for h in settings.webhooks.values()):
                return []
            data = build(settings)
            if data is None:
                return []
            when = occurred_ms if occurred_ms is not None else self._store.db.now_ms()
            return enqueue_event(self._outbox, settings, make_event(kind, settings, data, when))
        except Exception:  # noqa: BLE001 - never let a notification end a call
            log.exception("could not queue the %s webhook event", kind)
            return []

    def call_ended(self, call_id: int) -> list[int]:
        call = self._store.calls.get(call_id)
        if call is None:
            return []

        def build(settings: Settings) -> dict[str, Any]:
            path = [e.node for e in self._store.calls.events(call_id) if e.kind == "node" and e.node]
            return {"call_id": call.id, "line": call.line,
                    "caller": _caller(call.caller_number, call.caller_name),
                    "answered": call.answered_ms is not None,
                    "duration_s": round((call.duration_ms or 0) / 1000, 1),
                    "outcome": call.outcome, "end_reason": call.end_reason, "path": path}

        return self._send("call_ended", build, call.ended_ms)

    def message_saved(self, message_id: int) -> list[int]:
        message = self._store.messages.get(message_id)
        if message is None:
            return []
        kind = "tty_message" if message.text is not None else "voicemail"

        def build(settings: Settings) -> dict[str, Any]:
            box = settings.mailboxes.get(message.mailbox)
            data = {"message_id": message.id, "call_id": message.call_id, "mailbox": message.mailbox,
                    "mailbox_name": box.name if box else message.mailbox,
                    "caller": _caller(message.caller_number, message.caller_name),
                    "duration_s": round(message.duration_ms / 1000, 1),
                    "url": message_url(settings, message.id)}
            if message.text is not None:
                data["text"] = message.text
            return data

        return self._send(kind, build, message.received_ms)

    def callback_requested(self, callback_id: int, mailbox: str) -> list[int]:
        request = next((c for c in self._store.callbacks.list(limit=50) if c.id == callback_id), None)
        if request is None:
            return []

        def build(settings: Settings) -> dict[str, Any]:
            return {"callback_id": request.id, "call_id": request.call_id, "number": request.number,
                    "caller": _caller(request.number, request.name), "mailbox": mailbox,
                    "tty": request.by_tty}

        return self._send("callback", build, request.requested_ms)

    def survey_answered(self, call_id: int | None, survey: str, answer: str) -> list[int]:
        def build(settings: Settings) -> dict[str, Any]:
            node = settings.flow.nodes.get(survey)
            question = getattr(node, "question", None)
            prompt = settings.prompts.get(question) if question else None
            call = self._store.calls.get(call_id) if call_id is not None else None
            return {"call_id": call_id, "survey": survey, "question": question,
                    "question_text": prompt.text(settings.business.default_language) if prompt else None,
                    "answer": answer,
                    "caller": _caller(call.caller_number if call else None,
                                      call.caller_name if call else None)}

        return self._send("survey", build)

    def engine_sink(self) -> EventSink:
        """An engine `on_event` sink: call ends and survey answers become webhook events."""
        def sink(kind: str, detail: dict[str, Any]) -> None:
            call_id = detail.get("call_id")
            if kind == "call_end" and isinstance(call_id, int):
                self.call_ended(call_id)
            elif kind == "survey" and detail.get("node") and detail.get("answer") is not None:
                self.survey_answered(call_id if isinstance(call_id, int) else None,
                                     str(detail["node"]), str(detail["answer"]))
        return sink
