"""What the call path calls when something must reach the owner: it only enqueues.

API:
    smtp_config(settings) -> SmtpConfig | None        settings.smtp mapped for email.py
    OutboxNotifier(outbox, store, settings_provider)
        .voicemail(message_id, mailbox)               a voicemail e-mail, WAV attached (once:
                                                      the message is marked notified with it)
        .send_owed() -> n                             start-up: notices of messages saved but
                                                      never notified (a crash between the two)
        .callback_requested(callback_id, mailbox)     "please call back" e-mail
        .tty_message(message_id, mailbox)             a typed (TTY) message, as a voicemail
        .call_ended(call_id) / .survey_answered(call_id, survey, answer)
        .engine_sink() -> on_event sink               call_end / survey engine events
        (each of these also queues the webhook events: hookevents.py)
    EMAIL_KIND (voicemail, email.py), CALLBACK_KIND, callback_email(payload, sender) -> EmailMessage
    CallbackMailer(config_provider)                   the outbox handler for CALLBACK_KIND

Nothing here touches the network in the call path: a job is a row in the database
first, and the outbox worker delivers it with retries (outbox.py), so a caller never
waits on a mail server and a network outage loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from firmware.notify.email import (
    EMAIL_KIND,
    SmtpConfig,
    local_time,
    notice_for,
    send,
    voicemail_job,
)
from firmware.notify.hookevents import HookEvents
from firmware.notify.outbox import DeliveryFailed, Outbox
from firmware.settings import Settings
from firmware.store import Store

log = logging.getLogger(__name__)

CALLBACK_KIND = "callback_email"
TTY_NOTE = ("This caller used a text telephone (TTY) and may not hear a voice call: call back\n"
            "with a TTY, or through a relay service (711 in the US).\n\n")


def smtp_config(settings: Settings) -> SmtpConfig | None:
    smtp = settings.smtp
    if smtp is None:
        return None
    security = "ssl" if smtp.security == "tls" else smtp.security
    return SmtpConfig(host=smtp.host, port=smtp.port, security=security,
                      username=smtp.username, password=smtp.password, sender=smtp.sender,
                      timeout_s=float(smtp.timeout_s), attach_as=smtp.attach_as)


class OutboxNotifier:
    def __init__(self, outbox: Outbox, store: Store, settings: Callable[[], Settings]):
        self._outbox = outbox
        self._store = store
        self._settings = settings
        self.hooks = HookEvents(outbox, store, settings)

    def call_ended(self, call_id: int) -> None:
        self.hooks.call_ended(call_id)

    def survey_answered(self, call_id: int | None, survey: str, answer: str) -> None:
        self.hooks.survey_answered(call_id, survey, answer)

    def engine_sink(self) -> Callable[[str, dict[str, Any]], None]:
        """Give this to the engine's `on_event`: call ends and survey answers go to webhooks."""
        return self.hooks.engine_sink()

    def _recipients(self, mailbox: str) -> list[str]:
        box = self._settings().mailboxes.get(mailbox)
        return list(box.email) if box is not None else []

    def voicemail(self, message_id: int, mailbox: str) -> None:
        """Queue a saved message's e-mail and webhooks, once: in one transaction with the
        message's notified mark (`claim_notice`), so a crash leaves both or neither, and
        a message already notified (by `send_owed` in another process) is left alone."""
        if self._queue_once(message_id, mailbox):
            self._outbox.wake()  # the jobs are committed now: the worker sees them

    def send_owed(self) -> int:
        """Queue the notices still owed (the process died between saving a message and
        queuing its notice, or shut down mid-message); start-up calls it. A message the
        owner deleted meanwhile is marked without a notice. Returns how many were queued."""
        sent = 0
        for message in self._store.messages.unnotified():
            if message.deleted:
                self._store.messages.claim_notice(message.id)
                continue
            try:
                sent += self._queue_once(message.id, message.mailbox)
            except Exception:  # it is in the inbox; one bad notice must not stop the start
                log.exception("cannot queue the notice of message %d", message.id)
        if sent:
            self._outbox.wake()
        return sent

    def _queue_once(self, message_id: int, mailbox: str) -> bool:
        with self._store.db.write():
            if not self._store.messages.claim_notice(message_id):
                return False
            self._queue(message_id, mailbox)
        return True

    def _queue(self, message_id: int, mailbox: str) -> None:
        self.hooks.message_saved(message_id)  # voicemail, or tty_message for a typed one
        recipients = self._recipients(mailbox)
        message = self._store.messages.get(message_id)
        if not recipients or message is None:
            return  # no e-mail configured for this mailbox: the inbox on the page has it
        settings = self._settings()
        box = settings.mailboxes.get(mailbox)
        wav = self._store.data.absolute(message.path) if message.path else None
        notice = notice_for(message, wav, settings.business.timezone,
                            mailbox_name=box.name if box else mailbox)
        self._outbox.enqueue(EMAIL_KIND, voicemail_job(notice, recipients))

    def tty_message(self, message_id: int, mailbox: str) -> None:
        """A TTY caller's typed message: the same e-mail and webhooks as a voicemail."""
        self.voicemail(message_id, mailbox)

    def callback_requested(self, callback_id: int, mailbox: str) -> None:
        self.hooks.callback_requested(callback_id, mailbox)
        recipients = self._recipients(mailbox)
        request = next((c for c in self._store.callbacks.open() if c.id == callback_id), None)
        if not recipients or request is None:
            return
        settings = self._settings()
        self._outbox.enqueue(CALLBACK_KIND, {
            "recipients": recipients, "number": request.number, "name": request.name,
            "requested_ms": request.requested_ms, "tz": settings.business.timezone,
            "business": settings.business.name, "tty": request.by_tty,
        })


def callback_email(payload: dict[str, Any], sender: str) -> EmailMessage:
    when = local_time(int(payload["requested_ms"]), str(payload["tz"]))
    who = payload.get("name") or "A caller"
    tty = bool(payload.get("tty"))
    msg = EmailMessage()
    msg["Subject"] = f"Call back {payload['number']} ({who}){' by TTY' if tty else ''}"
    msg["From"] = sender
    msg["To"] = ", ".join(payload["recipients"])
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="ivrbox.local")
    msg.set_content(
        f"{who} asked {payload.get('business') or 'the office'} to call back.\n\n"
        f"Number: {payload['number']}\n"
        f"Asked at: {when:%Y-%m-%d %H:%M} ({payload['tz']})\n\n"
        + (TTY_NOTE if tty else "") +
        "Mark it done on the Callbacks page once you have called.\n")
    return msg


class CallbackMailer:
    """Outbox handler for CALLBACK_KIND."""

    def __init__(self, config_provider: Callable[[], SmtpConfig | None]):
        self.config_provider = config_provider

    async def __call__(self, payload: dict[str, Any]) -> None:
        config = self.config_provider()
        if config is None:
            raise DeliveryFailed("e-mail is not set up (no SMTP server in the settings)")
        await send(config, callback_email(payload, config.sender))
