"""Voicemail e-mail: build the message, send it over SMTP without blocking the event loop.

API index:
    SmtpConfig(host, port, security="starttls"|"ssl"|"none", username, password, sender,
               timeout_s=30, ca_file=None, attach_as="wav"|"mp3"|"opus")
                                                  plain values the engine maps settings onto
    VoicemailNotice(mailbox, received_ms, duration_ms, tz, caller_number=, caller_name=,
                    caller_absent=, mailbox_name=, wav_path=, text=)
    build_voicemail_email(notice, sender, recipients, attach_as="wav") -> EmailMessage
                                                  subject, body, the recording (blocking)
    send_message(config, msg, recipients=None)    blocking smtplib send; raises DeliveryFailed
    send(config, msg)                             the same in a thread (await it)
    send_test_email(config, to)                   the web page's "send a test e-mail"
    notice_for(message, wav_path, tz, mailbox_name=, caller_absent=) -> VoicemailNotice
    voicemail_job(notice, recipients) -> dict     an outbox payload (kind EMAIL_KIND)
    EmailNotifier(config_provider)                the outbox handler for EMAIL_KIND

The outbox job holds the notice, not the rendered e-mail: the WAV is read when the mail
is sent, and `config_provider()` is asked each attempt, so a corrected password in the
settings fixes jobs that are already waiting. SMTP 5xx refusals of the sender, recipients
or data are permanent (the job dies); everything else (no network, 4xx, TLS trouble, and
the 5xx codes about logging in, which the owner may fix) is retried.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import ssl
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from firmware.errors import UsageError
from firmware.notify.attachment import FORMATS, encode_recording
from firmware.notify.outbox import DeliveryFailed
from firmware.store.messages import Message

log = logging.getLogger(__name__)

EMAIL_KIND = "email"
SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_TIMEOUT_S = 30.0
PERMANENT_CODES = range(500, 600)
AUTH_CODES = (530, 534, 535, 538)  # "log in first" / "bad login": the owner can fix it, retry
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # most providers refuse mails over ~25 MB
ABSENT_TEXT = {"P": "a private number", "O": "an unavailable number"}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    ca_file: str | None = None  # trust this CA (a self-signed office server); None: system CAs
    attach_as: str = "wav"  # the recording's format in voicemail e-mails (attachment.FORMATS)

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise UsageError(f"SMTP security must be one of {', '.join(SECURITY_MODES)}, "
                             f"not {self.security!r}")
        if not self.host:
            raise UsageError("SMTP server name is missing")
        if not 0 < self.port < 65536:
            raise UsageError(f"SMTP port {self.port} is out of range 1-65535")
        if self.attach_as not in FORMATS:
            raise UsageError(f"attachment format must be one of {', '.join(FORMATS)}, "
                             f"not {self.attach_as!r}")
        if "@" not in self.sender:
            raise UsageError(f"sender address {self.sender!r} is not an e-mail address")


@dataclass(frozen=True)
class VoicemailNotice:
    mailbox: str
    received_ms: int
    duration_ms: int
    tz: str
    caller_number: str | None = None
    caller_name: str | None = None
    caller_absent: str | None = None
    mailbox_name: str | None = None
    wav_path: str | None = None  # absolute
    text: str | None = None  # a TTY message's text
    message_id: int | None = None


def _clean(text: str | None) -> str:
    """Caller ID arrives from the line: drop control characters (no header injection)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text or "").split())


def _caller(n: VoicemailNotice) -> str:
    name, number = _clean(n.caller_name), _clean(n.caller_number)
    if name and number:
        return f"{name} ({number})"
    if number or name:
        return number or name
    return ABSENT_TEXT.get(n.caller_absent or "", "an unknown caller")


def _duration(ms: int) -> str:
    seconds = round(ms / 1000)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def local_time(received_ms: int, tz: str) -> datetime:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown time zone {tz!r}") from exc
    return datetime.fromtimestamp(received_ms / 1000, tz=timezone.utc).astimezone(zone)


def build_voicemail_email(notice: VoicemailNotice, sender: str, recipients: list[str],
                          attach_as: str = "wav") -> EmailMessage:
    """Blocking (reads, perhaps encodes the recording): run it in a worker thread."""
    if not recipients:
        raise UsageError("a voicemail e-mail needs at least one recipient")
    when = local_time(notice.received_ms, notice.tz)
    box = _clean(notice.mailbox_name) or notice.mailbox
    caller = _caller(notice)
    kind = "Text message" if notice.text is not None else "Voicemail"
    msg = EmailMessage()
    msg["Subject"] = f"{kind} for {box} from {caller}"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid("ivrbox", domain=sender.rpartition("@")[2] or None)
    lines = [
        f"{kind} for mailbox {box}" + (f" ({notice.mailbox})" if box != notice.mailbox else ""),
        "",
        f"From:     {caller}",
        f"Received: {when:%A %d %B %Y, %H:%M:%S} ({notice.tz})",
    ]
    if notice.text is not None:
        lines += ["", "Message:", notice.text]
    else:
        lines.append(f"Length:   {_duration(notice.duration_ms)}")
    attachment = None
    if notice.wav_path:
        try:
            attachment = encode_recording(notice.wav_path, attach_as)
        except OSError:
            lines += ["", "The recording was deleted before this e-mail could be sent."]
        else:
            if len(attachment.data) > MAX_ATTACHMENT_BYTES:
                attachment = None
                lines += ["", "The recording is too long to attach; listen on the web page."]
    if attachment is not None:
        lines += ["", f"The recording is attached ({attachment.fmt.upper()})."]
        if attachment.fallback_reason:
            lines.append(f"It is a WAV file because {attachment.fallback_reason}.")
    lines += ["", "-- ", "ivrbox"]
    msg.set_content("\n".join(lines) + "\n")
    if attachment is not None:
        filename = f"voicemail-{notice.mailbox}-{when:%Y%m%d-%H%M%S}.{attachment.extension}"
        msg.add_attachment(attachment.data, maintype="audio", subtype=attachment.subtype,
                           filename=filename)
    return msg


def _ssl_context(config: SmtpConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=config.ca_file)


def _refusal(what: str, code: int, text: bytes | str) -> DeliveryFailed:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return DeliveryFailed(f"mail server refused {what}: {code} {detail}",
                          permanent=code in PERMANENT_CODES and code not in AUTH_CODES)


def send_message(config: SmtpConfig, msg: EmailMessage, recipients: list[str] | None = None) -> None:
    """Send over SMTP (blocking). Raises DeliveryFailed with a message an owner understands."""
    where = f"{config.host}:{config.port}"
    helo = socket.gethostname() or "ivrbox"  # never a DNS look-up that could hang
    try:
        if config.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, local_hostname=helo,
                                                  timeout=config.timeout_s, context=_ssl_context(config))
        else:
            smtp = smtplib.SMTP(config.host, config.port, local_hostname=helo, timeout=config.timeout_s)
        with smtp:
            smtp.ehlo()
            if config.security == "starttls":
                smtp.starttls(context=_ssl_context(config))
                smtp.ehlo()
            if config.username:
                smtp.login(config.username, config.password or "")
            refused = smtp.send_message(msg, from_addr=config.sender, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(f"{r}: {c} {m.decode('utf-8', 'replace')}" for r, (c, m) in exc.recipients.items())
        raise DeliveryFailed(f"mail server refused every recipient ({text})",
                             permanent=all(c in PERMANENT_CODES for c in codes)) from exc
    except smtplib.SMTPSenderRefused as exc:
        raise _refusal(f"sender {config.sender}", exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPDataError as exc:
        raise _refusal("the message", exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"login to {where} failed: check the user name and password "
                             f"({exc.smtp_code})") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryFailed(f"{where} does not support this: {exc} (check the security "
                             "setting: none, starttls or ssl)") from exc
    except ssl.SSLError as exc:
        raise DeliveryFailed(f"secure connection to {where} failed: {exc.reason or exc}") from exc
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(f"mail server {where}: {exc}") from exc
    except OSError as exc:
        raise DeliveryFailed(f"cannot reach mail server {where}: {exc.strerror or exc}") from exc
    if refused:
        log.warning("mail server %s refused some recipients: %s", where, refused)


async def send(config: SmtpConfig, msg: EmailMessage, recipients: list[str] | None = None) -> None:
    """send_message in a worker thread: a slow mail server never stalls a call."""
    await asyncio.to_thread(send_message, config, msg, recipients)


async def send_test_email(config: SmtpConfig, to: str | list[str]) -> None:
    """Send a short test e-mail now (not through the outbox), so the page shows the error."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients or not all("@" in r for r in recipients):
        raise UsageError(f"not an e-mail address: {to!r}")
    msg = EmailMessage()
    msg["Subject"] = "ivrbox test e-mail"
    msg["From"] = config.sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid("ivrbox-test", domain=config.sender.rpartition("@")[2] or None)
    msg.set_content(
        "This is a test e-mail from your ivrbox auto-attendant.\n\n"
        f"It was sent through {config.host}:{config.port} ({config.security}).\n"
        "If you can read this, voicemail e-mails will reach this address.\n")
    await send(config, msg)


def notice_for(message: Message, wav_path: Path | None, tz: str, *,
               mailbox_name: str | None = None, caller_absent: str | None = None) -> VoicemailNotice:
    """The notice for a stored message (`wav_path`: its absolute file, from the mailbox)."""
    return VoicemailNotice(
        mailbox=message.mailbox, received_ms=message.received_ms,
        duration_ms=message.duration_ms, tz=tz, caller_number=message.caller_number,
        caller_name=message.caller_name, caller_absent=caller_absent,
        mailbox_name=mailbox_name, wav_path=str(wav_path) if wav_path else None,
        text=message.text, message_id=message.id)


def voicemail_job(notice: VoicemailNotice, recipients: list[str]) -> dict[str, Any]:
    """The outbox payload for one voicemail e-mail."""
    if not recipients:
        raise UsageError("a voicemail e-mail needs at least one recipient")
    local_time(notice.received_ms, notice.tz)  # refuse a bad time zone now, not at send time
    return {"notice": asdict(notice), "recipients": list(recipients)}


class EmailNotifier:
    """Outbox handler: renders the job's notice and sends it with the current SMTP config."""

    def __init__(self, config_provider: Callable[[], SmtpConfig | None]):
        self.config_provider = config_provider

    async def __call__(self, payload: dict[str, Any]) -> None:
        config: SmtpConfig | None = self.config_provider()
        if config is None:
            raise DeliveryFailed("e-mail is not set up (no SMTP server in the settings)")
        notice = VoicemailNotice(**payload["notice"])
        msg = await asyncio.to_thread(build_voicemail_email, notice, config.sender,
                                      payload["recipients"], config.attach_as)
        await send(config, msg)
