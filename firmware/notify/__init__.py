"""Notifications: one persistent outbox, delivered by notifiers (e-mail, webhooks).

API index:
    Outbox, Backoff, DeliveryFailed                      (outbox: queue, worker, retries)
    SmtpConfig, VoicemailNotice, EmailNotifier, EMAIL_KIND,
    build_voicemail_email, notice_for, voicemail_job, send, send_test_email   (email)
    available_formats, encode_recording     (attachment: the recording as WAV, MP3 or Opus)

Wiring, as the engine does it::

    outbox = Outbox(store.jobs, {EMAIL_KIND: EmailNotifier(lambda: smtp_config)})
    task = asyncio.create_task(outbox.run())
    outbox.enqueue(EMAIL_KIND, voicemail_job(notice, ["owner@example.com"]))
"""

from __future__ import annotations

from firmware.notify.email import (
    EMAIL_KIND,
    EmailNotifier,
    SmtpConfig,
    VoicemailNotice,
    build_voicemail_email,
    notice_for,
    send,
    send_test_email,
    voicemail_job,
)
from firmware.notify.outbox import Backoff, DeliveryFailed, Outbox

__all__ = ["EMAIL_KIND", "Backoff", "DeliveryFailed", "EmailNotifier", "Outbox", "SmtpConfig",
           "VoicemailNotice", "build_voicemail_email", "notice_for", "send", "send_test_email", "voicemail_job"]
