"""Voicemail e-mail against a real SMTP server (aiosmtpd on 127.0.0.1, a free port)."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from firmware.errors import UsageError
from firmware.notify import (
    EMAIL_KIND,
    Backoff,
    DeliveryFailed,
    EmailNotifier,
    Outbox,
    SmtpConfig,
    VoicemailNotice,
    build_voicemail_email,
    notice_for,
    send,
    send_test_email,
    voicemail_job,
)
from firmware.store import Store
from firmware.voicemail.recorder import WavRecorder

GUARD_S = 20
HOLD_S = 5  # the non-blocking test fails after this if the client blocked its own loop
RECEIVED_MS = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC = Wednesday 06:13:20 in Taipei


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Collects what the server accepts; refuses some recipients like a real server."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.lock = threading.Lock()
        self.hold: threading.Event | None = None  # DATA waits for this, if set
        self.in_data = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("full@"):
            return "452 4.2.2 mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.in_data.set()
        if self.hold is not None and not await asyncio.to_thread(self.hold.wait, HOLD_S):
            return "451 4.3.0 client never released the hold"
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return [email.message_from_bytes(e.content, policy=email.policy.default)
                    for e in self.envelopes]


@contextlib.contextmanager
def smtp_server(sink: Sink, port: int | None = None, **kwargs: Any) -> Iterator[int]:
    port = port or free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def config(port: int, **kw: Any) -> SmtpConfig:
    values = dict(host="127.0.0.1", port=port, security="none", sender="ivrbox@office.example",
                  timeout_s=10)
    return SmtpConfig(**(values | kw))


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    rec = WavRecorder(tmp_path / "m.wav")
    rng = np.random.default_rng(4)
    for _ in range(200):  # 4 s of noise: every byte value occurs, so corruption shows
        rec.write(rng.integers(-32768, 32767, 160, dtype=np.int16))
    return rec.finish().path


def notice(wav: Path | None = None, **kw: Any) -> VoicemailNotice:
    values = dict(mailbox="100", mailbox_name="Sales", received_ms=RECEIVED_MS, duration_ms=65_400,
                  tz="Asia/Taipei", caller_number="0223456789", caller_name="WANG",
                  wav_path=str(wav) if wav else None)
    return VoicemailNotice(**(values | kw))


def test_email_content(wav: Path) -> None:
    msg = build_voicemail_email(notice(wav), "ivrbox@office.example", ["a@x.example", "b@x.example"])
    assert msg["Subject"] == "Voicemail for Sales from WANG (0223456789)"
    assert msg["To"] == "a@x.example, b@x.example"
    body = msg.get_body(("plain",)).get_content()
    assert "Wednesday 15 November 2023, 06:13:20 (Asia/Taipei)" in body
    assert "1 min 05 s" in body and "mailbox Sales (100)" in body
    (att,) = list(msg.iter_attachments())
    assert att.get_content_type() == "audio/wav"
    assert att.get_filename() == "voicemail-100-20231115-061320.wav"
    assert att.get_content() == wav.read_bytes()

    private = build_voicemail_email(notice(None, caller_number=None, caller_name=None,
                                           caller_absent="P", mailbox_name=None),
                                    "ivrbox@office.example", ["a@x.example"])
    assert private["Subject"] == "Voicemail for 100 from a private number"
    assert list(private.iter_attachments()) == []
    tty = build_voicemail_email(notice(None, text="PLS CALL BACK GA"), "s@x.example", ["a@x.example"])
    assert tty["Subject"].startswith("Text message for Sales")
    assert "PLS CALL BACK GA" in tty.get_body(("plain",)).get_content()
    evil = build_voicemail_email(notice(None, caller_name="EVIL\r\nBcc: all@x.example"),
                                 "s@x.example", ["a@x.example"])
    assert evil["Subject"] == "Voicemail for Sales from EVIL Bcc: all@x.example (0223456789)"
    assert evil["Bcc"] is None
    gone = build_voicemail_email(notice(wav.with_name("purged.wav")), "s@x.example", ["a@x.example"])
    assert "deleted before" in gone.get_body(("plain",)).get_content()
    with pytest.raises(UsageError):
        build_voicemail_email(notice(wav, tz="Nowhere/Land"), "s@x.example", ["a@x.example"])
    with pytest.raises(UsageError):
        voicemail_job(notice(wav), [])


def test_config_is_checked() -> None:
    with pytest.raises(UsageError, match="security"):
        config(25, security="tls")
    with pytest.raises(UsageError, match="sender"):
        config(25, sender="ivrbox")
    with pytest.raises(UsageError, match="port"):
        config(0)


def test_delivered_to_several_recipients_with_attachment_intact(wav: Path) -> None:
    sink = Sink()
    with smtp_server(sink) as port:
        msg = build_voicemail_email(notice(wav), "ivrbox@office.example", ["a@x.example", "b@x.example"])
        asyncio.run(send(config(port), msg))
    (env,) = sink.envelopes
    assert env.mail_from == "ivrbox@office.example"
    assert env.rcpt_tos == ["a@x.example", "b@x.example"]
    (got,) = sink.messages()
    (att,) = list(got.iter_attachments())
    assert att.get_content() == wav.read_bytes()


def test_send_does_not_block_the_event_loop(wav: Path) -> None:
    """The server holds DATA until our event loop, while the send is in progress, notices
    and releases it: only possible if smtplib runs outside the loop's thread."""
    sink = Sink()
    sink.hold = threading.Event()
    with smtp_server(sink) as port:
        async def scenario() -> None:
            sending = asyncio.create_task(send(config(port), build_voicemail_email(
                notice(wav), "ivrbox@office.example", ["a@x.example"])))
            assert await asyncio.to_thread(sink.in_data.wait, GUARD_S)
            assert not sending.done()
            sink.hold.set()
            await asyncio.wait_for(sending, GUARD_S)

        asyncio.run(scenario())
    assert len(sink.envelopes) == 1


def test_server_down_then_back_delivers_after_retry(tmp_path: Path, wav: Path) -> None:
    clock = {"t": RECEIVED_MS}
    store = Store(tmp_path / "data", clock_ms=lambda: clock["t"])
    port = free_port()
    smtp = config(port)
    outbox = Outbox(store.jobs, {EMAIL_KIND: EmailNotifier(lambda: smtp)},
                    backoff=Backoff(first_ms=30_000), rand=lambda: 0.5)
    sink = Sink()

    async def scenario() -> None:
        job = outbox.enqueue(EMAIL_KIND, voicemail_job(notice(wav), ["owner@x.example"]))
        await outbox.deliver_due()  # nobody listening on the port
        j = store.jobs.get(job)
        assert j.state == "pending" and j.attempts == 1 and "cannot reach" in j.last_error
        with smtp_server(sink, port):
            clock["t"] += 30_000
            await outbox.deliver_due()
        j = store.jobs.get(job)
        assert (j.state, j.attempts) == ("done", 2)

    asyncio.run(scenario())
    (got,) = sink.messages()
    assert got["Subject"] == "Voicemail for Sales from WANG (0223456789)"
    assert list(got.iter_attachments())[0].get_content() == wav.read_bytes()
    store.close()


def test_refused_recipients(tmp_path: Path, wav: Path) -> None:
    sink = Sink()
    store = Store(tmp_path / "data")
    with smtp_server(sink) as port:
        outbox = Outbox(store.jobs, {EMAIL_KIND: EmailNotifier(lambda: config(port))})

        async def scenario() -> tuple[int, int, int]:
            dead = outbox.enqueue(EMAIL_KIND, voicemail_job(notice(wav), ["nobody@x.example"]))
            later = outbox.enqueue(EMAIL_KIND, voicemail_job(notice(wav), ["full@x.example"]))
            partly = outbox.enqueue(EMAIL_KIND, voicemail_job(
                notice(wav), ["nobody@x.example", "owner@x.example"]))
            await outbox.deliver_due()
            return dead, later, partly

        dead, later, partly = asyncio.run(scenario())
    assert store.jobs.get(dead).state == "dead"
    assert "550" in store.jobs.get(dead).last_error
    assert store.jobs.get(later).state == "pending"  # 452: temporary
    assert store.jobs.get(partly).state == "done"
    assert [e.rcpt_tos for e in sink.envelopes] == [["owner@x.example"]]
    store.close()


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"office"
          and auth_data.password == b"s3cret")
    return AuthResult(success=ok, handled=False)  # False: the server answers 535 itself


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login(wav: Path) -> None:
    sink = Sink()
    with smtp_server(sink, authenticator=authenticator, auth_required=True,
                     auth_require_tls=False) as port:
        msg = build_voicemail_email(notice(wav), "ivrbox@office.example", ["a@x.example"])
        asyncio.run(send(config(port, username="office", password="s3cret"), msg))
        with pytest.raises(DeliveryFailed, match="login .* failed") as bad:
            asyncio.run(send(config(port, username="office", password="wrong"), msg))
        assert not bad.value.permanent  # the owner fixes the password; waiting jobs then go
        with pytest.raises(DeliveryFailed) as anonymous:
            asyncio.run(send(config(port), msg))
        assert "530" in str(anonymous.value) and not anonymous.value.permanent
    assert len(sink.envelopes) == 1


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def test_starttls_with_login(self_signed: tuple[Path, Path], wav: Path) -> None:
    cert, key = self_signed
    sink = Sink()
    with smtp_server(sink, tls_context=server_tls(cert, key), require_starttls=True,
                     authenticator=authenticator, auth_required=True) as port:
        good = config(port, security="starttls", username="office", password="s3cret",
                      ca_file=str(cert))
        asyncio.run(send_test_email(good, "owner@x.example"))
        with pytest.raises(DeliveryFailed, match="secure connection") as untrusted:
            asyncio.run(send_test_email(config(port, security="starttls"), "owner@x.example"))
        assert not untrusted.value.permanent
        with pytest.raises(DeliveryFailed):  # plain text where the server demands STARTTLS
            asyncio.run(send_test_email(config(port, username="office", password="s3cret"),
                                        "owner@x.example"))
    (got,) = sink.messages()
    assert got["Subject"] == "ivrbox test e-mail" and got["To"] == "owner@x.example"


def test_implicit_ssl(self_signed: tuple[Path, Path], wav: Path) -> None:
    cert, key = self_signed
    sink = Sink()
    with smtp_server(sink, ssl_context=server_tls(cert, key)) as port:
        msg = build_voicemail_email(notice(wav), "ivrbox@office.example", ["a@x.example"])
        asyncio.run(send(config(port, security="ssl", ca_file=str(cert)), msg))
    (got,) = sink.messages()
    assert list(got.iter_attachments())[0].get_content() == wav.read_bytes()


def test_send_test_email_refuses_bad_address() -> None:
    with pytest.raises(UsageError):
        asyncio.run(send_test_email(config(25), "not-an-address"))


def test_end_to_end_message_to_inbox(tmp_path: Path) -> None:
    """Record -> message row -> outbox job -> worker -> SMTP server: the engine's path."""
    from firmware.voicemail import Voicemail

    store = Store(tmp_path / "data", clock_ms=lambda: RECEIVED_MS)
    vm = Voicemail(store)
    rec = vm.start_recording("100", caller_number="0223456789")
    for _ in range(150):
        rec.write(np.full(160, 1234, dtype=np.int16))
    message = vm.save(rec.finish())
    sink = Sink()
    with smtp_server(sink) as port:
        outbox = Outbox(store.jobs, {EMAIL_KIND: EmailNotifier(lambda: config(port))})

        async def scenario() -> str:
            worker = asyncio.create_task(outbox.run())
            try:
                n = notice_for(message, vm.audio_path(message), "Asia/Taipei", mailbox_name="Sales")
                job = outbox.enqueue(EMAIL_KIND, voicemail_job(n, ["a@x.example", "b@x.example"]))
                return (await asyncio.wait_for(outbox.wait_job(job), GUARD_S)).state
            finally:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

        assert asyncio.run(scenario()) == "done"
    (got,) = sink.messages()
    assert got["Subject"] == "Voicemail for Sales from 0223456789"
    assert "Length:   3 s" in got.get_body(("plain",)).get_content()
    assert list(got.iter_attachments())[0].get_content() == vm.audio_path(message).read_bytes()
    assert sink.envelopes[0].rcpt_tos == ["a@x.example", "b@x.example"]
    store.close()
