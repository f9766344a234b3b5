"""Voicemail messages from recording to purge, and the PIN lock-out, on top of the store.

API index:
    MailboxPolicy(min_message_ms, undo_ms, max_pin_failures, lockout_ms, min_free_bytes)
    Voicemail(store, policy=MailboxPolicy())
      .start_recording(mailbox, call_id=, caller_number=, caller_name=) -> WavRecorder
      .save(recording) -> Message | None      None: shorter than min_message_ms, dropped
      .add_text(mailbox, text, ...) -> Message   a TTY/TDD message
      .recover(min_ms=None) -> list[Message]   start-up: list recordings a crash cut short
                                               (min_ms(mailbox): that mailbox's shortest
                                               message; each is owed its notice:
                                               OutboxNotifier.send_owed queues it)
      .list(mailbox) / .counts(mailbox) / .get(id) / .audio_path(message)
      .mark_heard(id) / .delete(id) / .undelete(id) / .purge() -> how many removed
      .check_pin(mailbox, entered, verify) -> PinCheck     verify: the hashed-PIN check
    PinCheck(ok, locked_until_ms, failures)

No PIN hashing here: the caller passes `verify(entered) -> bool` (from settings). What this
module adds is the lock-out: `max_pin_failures` wrong PINs in a row lock the mailbox for
`lockout_ms`, counted in the db so neither a restart nor a second line resets it; while
locked, `verify` is not even called.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from firmware.dsp.level import speech_segments
from firmware.errors import AudioFormatError, StoreError, UsageError
from firmware.store import Message, Store, safe_name
from firmware.store.files import fsync_dir
from firmware.voicemail.recorder import SAMPLE_RATE, Recording, WavRecorder, read_wav_samples, recover

MINUTE_MS = 60_000
DEFAULT_MIN_MESSAGE_MS = 1500  # shorter: a hang-up at the beep, not a message
DEFAULT_UNDO_MS = 24 * 60 * MINUTE_MS  # a deleted message can be restored for a day
DEFAULT_MAX_PIN_FAILURES = 3
DEFAULT_LOCKOUT_MS = 15 * MINUTE_MS
DEFAULT_MIN_FREE_BYTES = 16 * 1024 * 1024  # refuse to record when the disk is this full
RECOVERED_VOICE_MS = 300  # a recovered recording with this much speech is kept, however short


@dataclass(frozen=True)
class MailboxPolicy:
    min_message_ms: int = DEFAULT_MIN_MESSAGE_MS
    undo_ms: int = DEFAULT_UNDO_MS
    max_pin_failures: int = DEFAULT_MAX_PIN_FAILURES
    lockout_ms: int = DEFAULT_LOCKOUT_MS
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    locked_until_ms: int | None = None  # set when the mailbox is (now) locked
    failures: int = 0  # wrong PINs in a row so far (0 after a lock starts)

    @property
    def locked(self) -> bool:
        return self.locked_until_ms is not None


class Voicemail:
    def __init__(self, store: Store, policy: MailboxPolicy | None = None):
        self.store = store
        self.policy = policy or MailboxPolicy()

    def _now(self) -> int:
        return self.store.db.now_ms()

    # -- recording ---------------------------------------------------------------------

    def start_recording(self, mailbox: str, *, call_id: int | None = None,
                        caller_number: str | None = None,
                        caller_name: str | None = None) -> WavRecorder:
        """A recorder for a new message; raises StoreError when the disk is (nearly) full."""
        data = self.store.data
        box = safe_name(mailbox)
        free = data.free_bytes()
        if free < self.policy.min_free_bytes:
            raise StoreError(f"not enough free space to record ({free // 1024} kB left)")
        now = self._now()
        stamp = datetime.fromtimestamp(now / 1000, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = f"{stamp}-{call_id if call_id is not None else 'x'}-{secrets.token_hex(3)}.wav"
        path = data.inside(data.voicemail, box, name)
        meta = {"mailbox": box, "call_id": call_id, "caller_number": caller_number,
                "caller_name": caller_name, "received_ms": now}
        return WavRecorder(path, meta)

    def save(self, recording: Recording) -> Message | None:
        """Make a finished recording a message (or drop it if too short)."""
        if recording.duration_ms < self.policy.min_message_ms or not recording.meta.get("mailbox"):
            recording.discard()
            return None
        return self._add(recording)

    def _add(self, recording: Recording) -> Message:
        meta = recording.meta
        message = self.store.messages.add(
            str(meta["mailbox"]),
            received_ms=int(meta.get("received_ms") or self._now()),
            duration_ms=recording.duration_ms,
            path=self.store.data.relative(recording.path),
            call_id=meta.get("call_id"),
            caller_number=meta.get("caller_number"),
            caller_name=meta.get("caller_name"),
        )
        recording.settle()
        return message

    def add_text(self, mailbox: str, text: str, *, call_id: int | None = None,
                 caller_number: str | None = None, caller_name: str | None = None) -> Message:
        if not text.strip():
            raise UsageError("a text message cannot be empty")
        return self.store.messages.add(safe_name(mailbox), text=text, call_id=call_id,
                                       caller_number=caller_number, caller_name=caller_name)

    def recover(self, min_ms: Callable[[str], int] | None = None) -> list[Message]:
        """Recordings a crash or power cut interrupted become messages, returned; each
        owes its notice like a message saved in a call (Messages.unnotified) until the
        notifier queues it.

        Shorter than `min_ms(mailbox)` (default: the policy's) is dropped as a hang-up
        at the beep, unless it holds speech: a real message cut short by the crash
        loses more if dropped than a stray short one costs if kept. A recording already
        listed (the crash came between its row and its marker's removal) is not listed
        twice, but returned."""
        root = self.store.data.voicemail
        listed: dict[str, dict[str, Message]] = {}
        out: list[Message] = []
        for rec in recover(root):
            if not rec.meta.get("mailbox") and rec.path.parent != root:
                # Marker lost or unreadable: the directory still names the mailbox.
                rec = Recording(rec.path, rec.samples, {**rec.meta, "mailbox": rec.path.parent.name})
            mailbox = str(rec.meta.get("mailbox") or "")
            if not mailbox:
                rec.discard()
                continue
            if mailbox not in listed:
                listed[mailbox] = {m.path: m for m in self.store.messages.list(mailbox, include_deleted=True)
                                   if m.path}
            known = listed[mailbox].get(self.store.data.relative(rec.path))
            if known is not None:
                rec.settle()
                out.append(known)
                continue
            shortest = self.policy.min_message_ms if min_ms is None else min_ms(mailbox)
            if rec.duration_ms < shortest and not _has_voice(rec):
                rec.discard()
                continue
            out.append(self._add(rec))
        return out

    # -- listing and lifecycle ---------------------------------------------------------

    def list(self, mailbox: str | None = None, include_deleted: bool = False) -> list[Message]:
        """Newest first."""
        return self.store.messages.list(mailbox, include_deleted=include_deleted)

    def counts(self, mailbox: str) -> tuple[int, int]:
        return self.store.messages.counts(mailbox)

    def get(self, message_id: int) -> Message | None:
        return self.store.messages.get(message_id)

    def audio_path(self, message: Message) -> Path | None:
        return self.store.data.absolute(message.path) if message.path else None

    def mark_heard(self, message_id: int, heard: bool = True) -> None:
        self.store.messages.mark_heard(message_id, heard)

    def delete(self, message_id: int) -> None:
        """Soft delete: hidden at once, restorable for `undo_ms`, purged after."""
        self.store.messages.delete(message_id)

    def undelete(self, message_id: int) -> None:
        message = self.store.messages.get(message_id)
        if message is None:
            raise UsageError(f"message {message_id} no longer exists")
        if message.deleted_ms is not None and self._now() >= message.deleted_ms + self.policy.undo_ms:
            raise UsageError(f"message {message_id} was deleted too long ago to restore")
        self.store.messages.undelete(message_id)

    def purge(self) -> int:
        """Remove messages (files, then rows) whose undo window has passed."""
        doomed = self.store.messages.purgeable(self._now() - self.policy.undo_ms)
        dirs = set()
        for message in doomed:
            path = self.audio_path(message)
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                dirs.add(path.parent)
        for d in dirs:
            fsync_dir(d)
        return self.store.messages.purge([m.id for m in doomed])

    # -- PIN lock-out ------------------------------------------------------------------

    def check_pin(self, mailbox: str, entered: str, verify: Callable[[str], bool], *,
                  max_failures: int | None = None, lockout_ms: int | None = None) -> PinCheck:
        """Verify a PIN unless locked; `max_failures`/`lockout_ms` override the policy
        (a mailbox-login node sets its own)."""
        max_failures = self.policy.max_pin_failures if max_failures is None else max_failures
        lockout_ms = self.policy.lockout_ms if lockout_ms is None else lockout_ms
        lockouts = self.store.lockouts
        now = self._now()
        state = lockouts.state(mailbox)
        if state.locked(now):
            return PinCheck(False, state.locked_until_ms, state.failures)
        if verify(entered):
            lockouts.reset(mailbox)
            return PinCheck(True)
        state = lockouts.record_failure(mailbox, max_failures, lockout_ms, now)
        return PinCheck(False, state.locked_until_ms if state.locked(now) else None, state.failures)


def _has_voice(recording: Recording) -> bool:
    """True if the recording holds speech (RECOVERED_VOICE_MS of it), not only silence,
    line noise or the click of a hang-up. An unreadable file counts as voice: kept."""
    try:
        samples = read_wav_samples(recording.path)
    except (AudioFormatError, OSError):
        return True
    voiced = sum(s.end - s.start for s in speech_segments(samples))
    return voiced * 1000 >= RECOVERED_VOICE_MS * SAMPLE_RATE
