"""Nothing a crash interrupts is lost to the owner: a real call on the simulated line
leaves a voicemail, and its process is killed (SIGKILL, no clean-up runs) right after the
message row is committed, before its notice is queued -- or inside the transaction that
queues it. The next start (`Box.recover`) queues the e-mail and the voicemail webhook
once, and closes the call left open as interrupted with its call_ended webhook; the
outbox delivers them to a real SMTP server (aiosmtpd) and a local HTTP receiver. A
second start sends nothing more, and neither does a start after a call that ended well."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.appliance import Box, ConfigSource
from firmware.notify.email import EMAIL_KIND
from firmware.notify.webhook import WEBHOOK_KIND
from tests.ivr.conftest import KNOWN, write_config
from tests.notify.receiver import Receiver, Reply
from tests.notify.test_email import Sink, smtp_server

REPO = Path(__file__).resolve().parents[2]
SECRET = "a-webhook-secret-0123"

# One call into the data dir through the real engine: menu key 3, the support mailbox,
# 2 s of voice, #. `cut` names where the process dies: "saved" replaces the notifier's
# voicemail() (the step after the row is committed) with the kill; "queuing" kills once
# the notice's jobs are written but before their transaction commits; "none" lets the
# call end normally and exits without delivering anything.
CHILD = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from firmware.appliance import Box, ConfigSource, find_audio_dir
from firmware.ivr.prompts import TextToSpeech
from firmware.line.simscript import Press, Speak, Wait, WaitForBeep
from firmware.notify.notifier import OutboxNotifier
from tests.ivr.conftest import KNOWN, Phone, SpyPrompts, voice

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if {cut!r} == "saved":
    OutboxNotifier.voicemail = die
elif {cut!r} == "queuing":
    queue = OutboxNotifier._queue
    def queue_then_die(self, message_id, mailbox):
        queue(self, message_id, mailbox)
        assert self._store.db.connection().in_transaction and self._store.jobs.list()
        die()
    OutboxNotifier._queue = queue_then_die
box = Box(Path({data!r}), ConfigSource(Path({config!r}), fallback=None))
phone = Phone(box, SpyPrompts(TextToSpeech(Path({tts!r})), find_audio_dir()))
phone.call([Wait(500), Press("3"), WaitForBeep(), Speak(voice(2.0)), Press("#"), Wait(4000)],
           number=KNOWN)
box.close()
os._exit(0)
"""


@pytest.fixture(scope="session")
def tts_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine tests' text-to-speech cache (kept between runs), for the child's calls."""
    store = getattr(request.config, "cache", None)
    return Path(store.mkdir("ivrbox-tts")) if store else tmp_path_factory.mktemp("tts")


def run_call(data: Path, tts: Path, cut: str) -> int:
    code = CHILD.format(repo=str(REPO), data=str(data), config=str(data / "config" / "current.yaml"),
                        tts=str(tts), cut=cut)
    child = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert child.returncode in (0, -signal.SIGKILL), child.stderr
    return child.returncode


def configure(data: Path, smtp_port: int, hook_url: str) -> None:
    write_config(data / "config" / "current.yaml", {
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none",
                 "sender": "ivrbox@office.example", "timeout_s": 10},
        "mailboxes": {"support": {"email": ["owner@office.example"]}},
        "webhooks": {"office": {"url": hook_url, "secret": SECRET}},
    })


def restart(data: Path) -> tuple[int, list[str]]:
    """One start: recover, deliver what is due; (attempts made, kinds of all jobs)."""
    box = Box(data, ConfigSource(data / "config" / "current.yaml", fallback=None))
    try:
        box.recover()
        attempts = asyncio.run(box.outbox.deliver_due())
        assert box.store.jobs.counts()["pending"] == 0
        assert box.store.calls.open_calls() == [] and box.store.messages.unnotified() == []
        return attempts, sorted(j.kind for j in box.store.jobs.list())
    finally:
        box.close()


@pytest.mark.parametrize("cut", ["saved", "queuing"])
def test_a_crash_between_saving_a_message_and_queuing_its_notice_loses_nothing(
        tmp_path: Path, tts_cache: Path, cut: str) -> None:
    data = tmp_path / "data"
    sink = Sink()
    with smtp_server(sink) as port, Receiver([Reply(200, "ok")]) as rx:
        configure(data, port, f"{rx.url}/in")
        assert run_call(data, tts_cache, cut) == -signal.SIGKILL
        box = Box(data, ConfigSource(data / "config" / "current.yaml", fallback=None))
        try:  # what the crash left: the message, no notice, the call still open
            (message,) = box.voicemail.list("support")
            assert message.notified_ms is None and box.store.jobs.list() == []
            (call,) = box.store.calls.open_calls()
        finally:
            box.close()

        attempts, kinds = restart(data)
        assert attempts == 3
        assert kinds == sorted([EMAIL_KIND, WEBHOOK_KIND, WEBHOOK_KIND])
        assert restart(data) == (0, kinds)  # the second start: nothing more

    (mail,) = sink.messages()
    assert mail["To"] == "owner@office.example" and KNOWN in mail["Subject"] + mail.get_body().get_content()
    assert [p.get_content_type() for p in mail.iter_attachments()] == ["audio/wav"]
    by_event = {seen.json()["event"]: seen.json()["data"] for seen in rx.requests}
    assert len(rx.requests) == 2 and set(by_event) == {"voicemail", "call_ended"}
    assert by_event["voicemail"]["message_id"] == message.id
    ended = by_event["call_ended"]
    assert ended["call_id"] == call.id and ended["outcome"] == "interrupted"
    assert ended["end_reason"] == "restart" and ended["caller"]["number"] == KNOWN
    assert "support_vm" in ended["path"]


def test_a_start_after_a_call_that_ended_well_sends_nothing_again(
        tmp_path: Path, tts_cache: Path) -> None:
    data = tmp_path / "data"
    sink = Sink()
    with smtp_server(sink) as port, Receiver([Reply(200, "ok")]) as rx:
        configure(data, port, f"{rx.url}/in")
        assert run_call(data, tts_cache, "none") == 0
        attempts, kinds = restart(data)  # delivers what the call queued, adds nothing
        assert attempts == 3 and kinds == sorted([EMAIL_KIND, WEBHOOK_KIND, WEBHOOK_KIND])
        assert restart(data) == (0, kinds)
    assert len(sink.messages()) == 1
    outcomes = {seen.json()["event"]: seen.json()["data"].get("outcome") for seen in rx.requests}
    assert len(rx.requests) == 2 and outcomes == {"voicemail": None, "call_ended": "voicemail"}


def test_a_call_cut_before_any_message_is_reported_interrupted(tmp_path: Path) -> None:
    """The call log alone: a call the crash left open, closed at start-up with its event;
    with no hook configured nothing is queued, and the call is closed all the same."""
    data = tmp_path / "data"
    configure(data, 9, "http://127.0.0.1:9/in")
    box = Box(data, ConfigSource(data / "config" / "current.yaml", fallback=None))
    try:
        answered = box.store.calls.start("main", caller_number=KNOWN, started_ms=1_000)
        box.store.calls.answered(answered, at_ms=4_000)
        box.store.calls.event(answered, 0, "node", node="main")
        unanswered = box.store.calls.start("main", started_ms=9_000)
        box.recover()
        events = [j.payload["event"] for j in box.store.jobs.list() if j.kind == WEBHOOK_KIND]
        assert sorted((e["data"]["call_id"], e["data"]["outcome"], e["data"]["answered"], e["occurred_ms"])
                      for e in events) == [(answered, "interrupted", True, 4_000),
                                           (unanswered, "interrupted", False, 9_000)]
        assert [e["data"]["path"] for e in events if e["data"]["call_id"] == answered] == [["main"]]
        box.recover()
        assert len(box.store.jobs.list()) == 2
    finally:
        box.close()
    write_config(data / "config" / "current.yaml", {})  # no webhooks
    box = Box(data, ConfigSource(data / "config" / "current.yaml", fallback=None))
    try:
        left_open = box.store.calls.start("main")
        box.recover()
        assert box.store.calls.get(left_open).outcome == "interrupted"
        assert len(box.store.jobs.list()) == 2
    finally:
        box.close()
