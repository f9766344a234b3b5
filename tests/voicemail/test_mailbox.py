"""Message lifecycle and PIN lock-out on a real store in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware.errors import StoreError, UsageError
from firmware.store import Store
from firmware.voicemail.mailbox import MailboxPolicy, Voicemail
from firmware.voicemail.recorder import read_wav_samples

FRAME = 160


class Clock:
    def __init__(self, t: int = 1_700_000_000_000):
        self.t = t

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def env(tmp_path: Path):
    clock = Clock()
    store = Store(tmp_path / "data", clock_ms=clock)
    vm = Voicemail(store, MailboxPolicy(min_message_ms=1500, undo_ms=60_000,
                                        max_pin_failures=3, lockout_ms=300_000, min_free_bytes=0))
    yield vm, store, clock
    store.close()


def speak(rec, seconds: float, value: int = 1000) -> None:
    for _ in range(int(seconds * 8000) // FRAME):
        rec.write(np.full(FRAME, value, dtype=np.int16))


def test_recording_becomes_a_message(env) -> None:
    vm, store, clock = env
    call = store.calls.start("sim", caller_number="5551234")
    rec = vm.start_recording("100", call_id=call, caller_number="5551234", caller_name="ALICE")
    speak(rec, 3.0)
    msg = vm.save(rec.finish(trim_end_samples=4000))
    assert msg is not None
    assert (msg.mailbox, msg.call_id, msg.caller_number, msg.caller_name) == ("100", call, "5551234", "ALICE")
    assert msg.duration_ms == 2500 and msg.received_ms == clock.t and not msg.heard
    path = vm.audio_path(msg)
    assert path.parent == store.data.voicemail / "100"
    assert msg.path.startswith("voicemail/100/")
    assert len(read_wav_samples(path)) == 20_000
    assert not Path(str(path) + ".json").exists()  # settled: recover() will not see it again
    assert vm.recover() == []


def test_too_short_message_is_dropped_with_its_file(env) -> None:
    vm, store, _ = env
    rec = vm.start_recording("100")
    speak(rec, 1.2)
    assert vm.save(rec.finish()) is None
    assert list((store.data.voicemail / "100").iterdir()) == []
    assert vm.list("100") == []


def test_bad_mailbox_name_cannot_escape(env) -> None:
    vm, _, _ = env
    with pytest.raises(UsageError):
        vm.start_recording("../../etc")


def test_full_disk_refuses_to_record(tmp_path: Path) -> None:
    store = Store(tmp_path)
    vm = Voicemail(store, MailboxPolicy(min_free_bytes=2**62))
    with pytest.raises(StoreError, match="free space"):
        vm.start_recording("100")
    store.close()


def test_list_newest_first_heard_delete_undo_purge(env) -> None:
    vm, store, clock = env
    ids = []
    for n in range(3):
        rec = vm.start_recording("100", caller_number=f"{n}")
        speak(rec, 2.0)
        ids.append(vm.save(rec.finish()).id)
        clock.t += 1000
    text = vm.add_text("100", "CALL ME BACK GA")
    assert [m.id for m in vm.list("100")] == [text.id, *reversed(ids)]
    assert vm.counts("100") == (4, 4)
    vm.mark_heard(ids[0])
    assert vm.counts("100") == (3, 4)

    first = vm.get(ids[0])
    vm.delete(ids[0])
    assert ids[0] not in [m.id for m in vm.list("100")]
    clock.t += 30_000
    vm.undelete(ids[0])  # inside the undo window
    assert ids[0] in [m.id for m in vm.list("100")]

    vm.delete(ids[0])
    clock.t += 59_999
    assert vm.purge() == 0
    clock.t += 1
    with pytest.raises(UsageError, match="too long ago"):
        vm.undelete(ids[0])
    assert vm.purge() == 1
    assert vm.get(ids[0]) is None
    assert not vm.audio_path(first).exists()
    assert len(vm.list("100")) == 3
    with pytest.raises(UsageError):
        vm.undelete(ids[0])
    with pytest.raises(UsageError):
        vm.add_text("100", "  ")


def test_recover_lists_messages_cut_short_by_a_crash(env) -> None:
    vm, store, clock = env
    rec = vm.start_recording("200", caller_number="5550000")
    speak(rec, 2.5)
    rec._f.close()  # the process died here; only the flushed 2 s are on disk
    short = vm.start_recording("200")
    speak(short, 1.1)
    short._f.close()
    lost = vm.start_recording("300")
    speak(lost, 3.0)
    lost._f.close()
    Path(str(lost.path) + ".json").write_text("{not json")  # the marker did not survive
    msg, other = sorted(vm.recover(), key=lambda m: m.mailbox)
    assert (msg.mailbox, msg.caller_number, msg.duration_ms) == ("200", "5550000", 2000)
    assert (other.mailbox, other.duration_ms) == ("300", 3000)
    assert vm.list("200") == [msg]
    assert [p.suffix for p in (store.data.voicemail / "200").iterdir()] == [".wav"]


def test_pin_lockout_after_three_failures(env) -> None:
    vm, store, clock = env
    calls: list[str] = []

    def verify(pin: str) -> bool:
        calls.append(pin)
        return pin == "4321"

    assert vm.check_pin("100", "4321", verify).ok
    assert vm.check_pin("100", "1111", verify).failures == 1
    assert vm.check_pin("100", "2222", verify).failures == 2
    third = vm.check_pin("100", "3333", verify)
    assert not third.ok and third.locked and third.locked_until_ms == clock.t + 300_000
    # Locked: even the right PIN is refused, and verify is not called.
    n = len(calls)
    clock.t += 299_999
    assert vm.check_pin("100", "4321", verify).locked
    assert len(calls) == n
    # Other mailboxes are unaffected; a restart does not unlock.
    assert vm.check_pin("200", "4321", verify).ok
    vm2 = Voicemail(Store(store.data, clock_ms=clock), vm.policy)
    assert vm2.check_pin("100", "4321", verify).locked
    clock.t += 1
    assert vm2.check_pin("100", "4321", verify).ok
    # A right PIN resets the count.
    vm2.check_pin("100", "0000", verify)
    vm2.check_pin("100", "4321", verify)
    assert store.lockouts.state("100").failures == 0
    vm2.store.close()


def in_frames(rec, audio: np.ndarray) -> None:
    for start in range(0, len(audio), FRAME):
        rec.write(audio[start:start + FRAME])


def test_recover_uses_each_mailbox_minimum_but_keeps_speech(env) -> None:
    from firmware.dsp.tones import sine_mix

    vm, store, clock = env
    spoken = vm.start_recording("200")  # 1 s of a voice, cut by the crash
    in_frames(spoken, sine_mix([180, 360, 540], 1500.0, [-18.0, -22.0, -26.0]))
    spoken._f.close()
    click = vm.start_recording("200")  # a click, then line noise: a hang-up at the beep
    in_frames(click, np.concatenate([np.full(40, 20000, dtype=np.int16),
                                     np.random.default_rng(1).integers(-30, 30, 11960).astype(np.int16)]))
    click._f.close()
    lenient = vm.start_recording("300")  # silent, but that mailbox keeps anything from 0.5 s
    speak(lenient, 1.2)
    lenient._f.close()
    asked: list[str] = []

    def min_ms(mailbox: str) -> int:
        asked.append(mailbox)
        return 500 if mailbox == "300" else 2000

    found = vm.recover(min_ms)
    assert sorted((m.mailbox, m.duration_ms) for m in found) == [("200", 1000), ("300", 1000)]
    assert set(asked) == {"200", "300"}
    assert [p.name for p in (store.data.voicemail / "200").iterdir()] == [Path(spoken.path).name]


def test_recover_does_not_list_a_message_twice(env) -> None:
    """Killed after the message's row but before its marker was removed: the next start
    returns the message (its notice was never sent) without a second row."""
    vm, store, clock = env
    rec = vm.start_recording("200", caller_number="5550000")
    speak(rec, 2.5)
    finished = rec.finish()
    marker = Path(str(finished.path) + ".json")
    saved_marker = marker.read_text()
    message = vm.save(finished)
    marker.write_text(saved_marker)  # as if the process died before settle()
    (again,) = vm.recover()
    assert again.id == message.id and vm.list("200") == [message]
    assert not marker.exists() and vm.recover() == []
