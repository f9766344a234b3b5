"""Messages recovered after a crash reach the owner like any other (issue 4): a process
recording a message is killed (SIGKILL), the next start (`Box.recover`) lists it and
queues its e-mail and webhook in the outbox, which delivers them to a real SMTP server
(aiosmtpd) and a local HTTP receiver. A recovered scrap shorter than the mailbox's
min_message_s is dropped unless it holds speech."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource, data_config_path
from firmware.notify.email import EMAIL_KIND
from firmware.notify.webhook import WEBHOOK_KIND
from firmware.voicemail.recorder import FLUSH_SAMPLES
from tests.notify.receiver import Receiver, Reply
from tests.notify.test_email import Sink, smtp_server

REPO = Path(__file__).resolve().parents[2]
CALLER = "0912345678"
SECRET = "a-webhook-secret-0123"

# Records into the real data dir through Voicemail.start_recording (the call path's
# names and metadata), then waits mid-message until the test kills it.
CHILD = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from firmware.store import Store
from firmware.voicemail.mailbox import Voicemail
from tests.ivr.conftest import voice
from tests.notify.test_email import RECEIVED_MS

store = Store(Path({data!r}), clock_ms=lambda: RECEIVED_MS)
rec = Voicemail(store).start_recording("general", call_id=None, caller_number={caller!r})
audio = voice({seconds}, level_db={level})
for start in range(0, len(audio), 160):
    rec.write(audio[start:start + 160])
print("recorded", rec.samples, flush=True)
sys.stdin.read()
"""


def killed_while_recording(data: Path, seconds: float, level_db: float = -18.0) -> None:
    code = CHILD.format(repo=str(REPO), data=str(data), caller=CALLER, seconds=seconds, level=level_db)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout.readline().split()[0] == "recorded"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()
        child.stdout.close()


def configure(data: Path, smtp_port: int, hook_url: str, min_message_s: float = 2) -> None:
    doc = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    doc["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "security": "none",
                   "sender": "ivrbox@office.example", "timeout_s": 10}
    doc["mailboxes"]["general"].update(email=["owner@office.example"], min_message_s=min_message_s)
    doc["webhooks"] = {"office": {"url": hook_url, "secret": SECRET}}
    path = data_config_path(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_message_cut_by_a_crash_is_e_mailed_and_webhooked_at_the_next_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sink = Sink()
    with smtp_server(sink) as port, Receiver([Reply(200, "ok")]) as rx:
        configure(data, port, f"{rx.url}/in")
        killed_while_recording(data, 3.5)
        box = Box(data, ConfigSource(data_config_path(data), fallback=None))
        try:
            assert box.store.jobs.list() == []
            box.recover()
            (message,) = box.voicemail.list("general")
            assert message.caller_number == CALLER
            assert message.duration_ms == 3 * FLUSH_SAMPLES // 8  # what was flushed before the kill
            jobs = box.store.jobs.list()
            assert sorted(j.kind for j in jobs) == sorted([EMAIL_KIND, WEBHOOK_KIND])
            assert asyncio.run(box.outbox.deliver_due()) == 2
            assert all(box.store.jobs.get(j.id).state == "done" for j in jobs)
            box.recover()  # a second start finds nothing more to list or send
            assert len(box.voicemail.list("general")) == 1 and len(box.store.jobs.list()) == 2
        finally:
            box.close()
        (mail,) = sink.messages()
        assert mail["To"] == "owner@office.example" and CALLER in mail["Subject"] + mail.get_body().get_content()
        (wav,) = [part for part in mail.iter_attachments()]
        assert wav.get_content_type() == "audio/wav"
        (hook,) = rx.requests
        assert hook.json()["event"] == "voicemail"
        assert hook.json()["data"]["message_id"] == message.id


def test_a_short_recovered_scrap_is_dropped_unless_it_holds_speech(tmp_path: Path) -> None:
    data = tmp_path / "data"
    configure(data, 9, "http://127.0.0.1:9/in", min_message_s=2)
    killed_while_recording(data, 1.5, level_db=-70)  # a hang-up at the beep: 1 s of silence
    killed_while_recording(data, 1.5)  # a caller cut off after a second of speech
    box = Box(data, ConfigSource(data_config_path(data), fallback=None))
    try:
        box.recover()
        (kept,) = box.voicemail.list("general")
        assert kept.duration_ms == 1000  # shorter than min_message_s, but a voice: kept
        assert len([j for j in box.store.jobs.list() if j.kind == EMAIL_KIND]) == 1
        assert sorted(p.suffix for p in (box.store.data.voicemail / "general").iterdir()) == [".wav"]
    finally:
        box.close()
