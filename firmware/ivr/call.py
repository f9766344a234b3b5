"""One answered call's audio: play with barge-in, collect keys, record, wait.

API:
    Call(line, country=, max_call_ms=, on_event=)   wraps an answered `Line`
    await call.play(audio, barge_in=True, quiet=False) -> bool   True if a key interrupted it
    call.on_play = fn(audio)                         told of each audio as it starts (the
                                                     transcript); quiet=True: the caller logs it
    await call.wait_key(timeout_ms) -> str | None    first key (type-ahead counts)
    await call.collect(max_digits, first_ms, inter_ms, terminators="#") -> str
    await call.record(sink, max_ms=, silence_ms=, end_keys="#") -> Recording
    await call.pause(ms)                             silence, still listening
    call.elapsed_ms, call.take_keys(), call.clear_keys(), call.drop_keys_before(clock)
    await call.dial(digits); call.dial_end       line clock when our own DTMF has ended
    call.secret = True                               keys are logged as "x" (PIN entry)
    CallEnded (CallerHungUp, CallTooLong, OfficePickedUp, LineLost): raised from any
    of the above when the call is over; the flow catches them at its top.

Everything happens in 20 ms steps of the line's sample clock: send one frame, receive
one, run the DTMF detector and the call-progress detector on what came in, and take
the line's events. That keeps barge-in within one frame of detection and makes every
timeout a count of samples, so calls run faster than real time on the simulated line.

Keys are heard from audio by our own detector. Digits a half-duplex modem reports
while it plays (`HardwareDtmf`) are merged in, dropping any that our detector already
heard within `DUPLICATE_WINDOW_MS`; two keys from the same source are always two
keys (a fast "11" is 40 ms on, 40 ms off). Where a recorded message ends (silence judged
against the line's own noise floor, the pause before a hang-up) is `activity.MessageEnd`'s
call. A caller who hangs up on an exchange that does not drop loop current is recognised by the reorder, busy or dial tone that follows, heard
by our detector or reported by the line (`Tone`, a modem's DLE b/d codes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from firmware.dsp.callprogress import CallProgressDetector
from firmware.dsp.dtmf import DtmfDetector, KeyDown
from firmware.ivr.activity import MessageEnd
from firmware.ivr.tty import TtyHeard, TtyWatch
from firmware.line.base import (
    FRAME_SAMPLES,
    ExtensionOffHook,
    Frame,
    Hangup,
    HangupCause,
    HardwareDtmf,
    Line,
    LineStatus,
    Tone,
    ms_to_samples,
    samples_to_ms,
)

DUPLICATE_WINDOW_MS = 150  # a hardware digit this close to a detected one is the same key
DIAL_DIGIT_MS = 200  # upper bound of one dialled digit (tone + gap) on any backend
DIAL_PAUSE_MS = 1000  # a ',' in a dial string
DIAL_ECHO_MS = 60  # echo of our own DTMF may arrive this much after the last tone
HANGUP_TONES = frozenset({"reorder", "busy", "dial"})
KEY_TRIM_MARGIN_MS = 40  # cut a terminating '#' this much before its detected onset
SECRET_DIGIT = "x"  # what the call log shows for a key of a PIN

EventSink = Callable[[str, dict[str, Any]], None]
FrameSink = Callable[[Frame], None]


class CallEnded(Exception):
    """The call is over; `cause` says why (stored in the call log)."""

    cause = "ended"


class CallerHungUp(CallEnded):
    def __init__(self, how: str, tone_start: int | None = None):
        super().__init__(f"caller hung up ({how})")
        self.cause = f"caller_hangup:{how}"
        self.tone_start = tone_start  # sample clock where the exchange's tone began


class CallTooLong(CallEnded):
    cause = "max_call_length"


class OfficePickedUp(CallEnded):
    cause = "office_picked_up"


class LineLost(CallEnded):
    cause = "line_lost"


@dataclass(frozen=True)
class Key:
    digit: str
    at: int  # line clock (samples) at onset
    source: str = "audio"  # "audio" (our detector), "modem" (HardwareDtmf), "pushed_back"


@dataclass(frozen=True)
class HeardTone:
    type: str  # as firmware.dsp.callprogress names it: "dial", "ringback", "busy", ...
    at: int  # line clock at its start
    ended: bool = False  # reported again when the signal stopped


@dataclass(frozen=True)
class Recording:
    """What `record` captured: `kept` samples of the `received` are the message."""

    received: int
    kept: int
    ended_by: str  # "key", "silence", "max_length", "hangup", or another CallEnded cause
    hangup: CallEnded | None = None  # re-raise it once the message is saved

    @property
    def kept_ms(self) -> float:
        return samples_to_ms(self.kept)


class Call:
    def __init__(
        self,
        line: Line,
        *,
        country: str = "us",
        max_call_ms: int = 15 * 60 * 1000,
        on_event: EventSink | None = None,
    ):
        self._line = line
        self._dtmf = DtmfDetector()
        self.tty = TtyWatch(country=country)  # a TTY, 45.45 or 50 baud, from the first frame
        self._progress = CallProgressDetector(country)
        self._start = line.clock
        self._deadline = self._start + ms_to_samples(max_call_ms)
        self._keys: deque[Key] = deque()
        self._recent: deque[Key] = deque(maxlen=8)
        self._dtmf_origin: int | None = None  # line clock of the detectors' sample 0
        self._progress_origin: int | None = None
        self._consulting = False
        self.dial_end = self._start  # keys before this may be the echo of our own dialling
        self.secret = False  # while True, key events are logged without their digit
        self.tones: list[HeardTone] = []  # exchange tones heard while consulting
        self._on_event = on_event or (lambda kind, detail: None)
        self.on_play: Callable[[npt.NDArray[np.int16]], None] | None = None

    # -- time -------------------------------------------------------------------------
    @property
    def now(self) -> int:
        return self._line.clock

    @property
    def elapsed_ms(self) -> int:
        return int(samples_to_ms(self._line.clock - self._start))

    def grace(self, ms: float) -> None:
        """Let the call run `ms` past its limit, to say goodbye politely."""
        self._deadline = self.now + ms_to_samples(ms)

    # -- one step ---------------------------------------------------------------------
    async def step(self, out: Frame | None = None) -> Frame:
        """Send `out` (or silence), receive one frame and listen to it."""
        try:
            if out is not None:
                await self._line.tx(out)
            frame = await self._line.rx()
        except CallEnded:
            raise
        except Exception as exc:  # the hardware vanished mid-call
            from firmware.errors import LineError

            if isinstance(exc, LineError):
                raise LineLost(str(exc)) from exc
            raise
        frame_start = self._line.clock - FRAME_SAMPLES
        self._listen(frame, frame_start)
        if self._line.clock >= self._deadline:
            raise CallTooLong("maximum call length reached")
        return frame

    def _listen(self, frame: Frame, frame_start: int) -> None:
        if self._dtmf_origin is None:
            self._dtmf_origin = frame_start
        if self._progress_origin is None:
            self._progress_origin = frame_start
        for event in self._dtmf.feed(frame):
            if isinstance(event, KeyDown):
                self._add_key(Key(event.digit, event.start + self._dtmf_origin, "audio"))
        for tone in self._progress.feed(frame):
            at = tone.start + self._progress_origin
            if self._consulting:
                self.tones.append(HeardTone(tone.type, at, tone.end is not None))
            elif tone.type in HANGUP_TONES and tone.end is None:
                self._on_event("tone", {"type": tone.type})
                raise CallerHungUp(tone.type, tone_start=at)
        if not self._consulting and self.tty.feed(frame, frame_start):
            heard_at = self.tty.heard_at or frame_start
            first = self.tty.first_char_at or heard_at
            self._on_event("tty", {"latency_ms": int(samples_to_ms(heard_at - first)),
                                   "baud": self.tty.baud})
            raise TtyHeard(heard_at)
        for event in self._line.poll_events():
            if isinstance(event, Hangup):
                raise CallerHungUp(event.cause.value if isinstance(event.cause, HangupCause)
                                   else str(event.cause))
            if isinstance(event, HardwareDtmf):
                self._add_key(Key(event.digit, event.at, "modem"))
            elif isinstance(event, Tone) and event.kind in HANGUP_TONES:
                self._line_tone(event)
            elif isinstance(event, ExtensionOffHook):
                raise OfficePickedUp("an office phone was picked up")
            elif isinstance(event, LineStatus) and event.state == "missing":
                raise LineLost(event.detail or "line missing")

    def _line_tone(self, event: Tone) -> None:
        """A tone the hardware reported (a half-duplex modem hears busy/dial/reorder while
        we play and cannot pass us the audio): the same meaning as one we detect."""
        if self._consulting:
            self.tones.append(HeardTone(event.kind, event.at))
            return
        self._on_event("tone", {"type": event.kind, "source": "modem"})
        raise CallerHungUp(event.kind, tone_start=event.at)

    def _add_key(self, key: Key) -> None:
        """Queue a heard key; the same key reported by the other source is dropped."""
        window = ms_to_samples(DUPLICATE_WINDOW_MS)
        if any(k.digit == key.digit and k.source != key.source and abs(k.at - key.at) <= window
               for k in self._recent):
            return
        self._recent.append(key)
        self._keys.append(key)
        self._on_event("key", {"digit": SECRET_DIGIT if self.secret else key.digit,
                               "source": key.source})

    # -- keys -------------------------------------------------------------------------
    def take_keys(self) -> str:
        digits = "".join(k.digit for k in self._keys)
        self._keys.clear()
        return digits

    def has_keys(self) -> bool:
        return bool(self._keys)

    def push_back(self, digit: str) -> None:
        """Return a key a node did not want, so the next node gets it (type-ahead)."""
        self._keys.appendleft(Key(digit, self.now, "pushed_back"))

    def clear_keys(self) -> None:
        self._keys.clear()

    def drop_keys_before(self, clock: int) -> None:
        """Forget keys whose onset came before `clock` (e.g. the caller's, or the echo of
        our own dialling, when only a third party's answer may count)."""
        self._keys = deque(k for k in self._keys if k.at >= clock)

    def _pop_key(self) -> Key | None:
        return self._keys.popleft() if self._keys else None

    # -- transfers --------------------------------------------------------------------
    def consulting(self, on: bool) -> None:
        """While consulting a third party the exchange's tones (dial tone after a flash,
        ringback, busy) are answers to us, not the caller leaving: collect them in
        `tones` instead of ending the call."""
        self._consulting = on
        self.tones.clear()
        self.clear_keys()  # the caller's keys never answer for the third party, nor back
        self._progress.reset()
        self._progress_origin = None

    async def flash(self, ms: int | None = None) -> None:
        """Hook flash; returns once it is over on the line, whether the backend blocks
        for it or queues it (so what follows is heard after the flash, not during it)."""
        start = self.now
        await self._line.flash(ms)
        if ms is not None:
            while self.now < start + ms_to_samples(ms):
                await self.step()

    async def dial(self, digits: str) -> None:
        """Dial; `dial_end` is set to when the last of our own tones (and its echo) is
        over, whether the backend blocks while dialling or queues the audio."""
        start = self.now
        self.clear_keys()
        await self._line.dial(digits)
        length_ms = sum(DIAL_PAUSE_MS if d == "," else DIAL_DIGIT_MS for d in digits)
        self.dial_end = max(self.now, start + ms_to_samples(length_ms + DIAL_ECHO_MS))

    # -- actions ----------------------------------------------------------------------
    def keys_since(self, clock: int) -> bool:
        """A key pressed (onset) at or after `clock` is queued."""
        return any(k.at >= clock and k.source != "pushed_back" for k in self._keys)

    async def play(self, audio: npt.NDArray[np.int16], *, barge_in: bool = True,
                   quiet: bool = False) -> bool:
        """Play audio; with barge-in, stop at the first key pressed *during* it (kept
        for the node that collects keys). Keys typed earlier, or pushed back by the node
        before, wait in the queue: an announcement is never skipped on their account.
        `on_play` hears of it first (the transcript), unless `quiet` (TTY text, which
        its sender logs with the text itself)."""
        if self.on_play is not None and not quiet and len(audio):
            self.on_play(audio)
        samples = np.asarray(audio, dtype=np.int16)
        started = self.now
        for i in range(0, len(samples), FRAME_SAMPLES):
            if barge_in and self.keys_since(started):
                return True
            frame = samples[i : i + FRAME_SAMPLES]
            if len(frame) < FRAME_SAMPLES:
                frame = np.concatenate([frame, np.zeros(FRAME_SAMPLES - len(frame), np.int16)])
            await self.step(frame)
        return barge_in and self.keys_since(started)

    async def pause(self, ms: float) -> None:
        end = self.now + ms_to_samples(ms)
        while self.now < end:
            await self.step()

    async def wait_key(self, timeout_ms: float) -> str | None:
        end = self.now + ms_to_samples(timeout_ms)
        while not self._keys and self.now < end:
            await self.step()
        key = self._pop_key()
        return key.digit if key else None

    async def collect(
        self,
        max_digits: int,
        first_ms: float,
        inter_ms: float,
        terminators: str = "#",
    ) -> str:
        """Keys until `max_digits`, a terminator (not included), or a timeout."""
        digits = ""
        timeout = first_ms
        while len(digits) < max_digits:
            key = await self.wait_key(timeout)
            if key is None:
                break
            if key in terminators:
                return digits
            digits += key
            timeout = inter_ms
        return digits

    async def record(
        self,
        sink: FrameSink,
        *,
        max_ms: float,
        silence_ms: float | None = 5000,
        end_keys: str = "#",
    ) -> Recording:
        """Pass received frames to `sink` until a key, silence, the limit or hang-up.

        Returns how many of the received samples are worth keeping: a terminating key's
        tone, the exchange's hang-up tone and all but a little trailing silence are cut.
        A hang-up (or the call's time running out) is not an error here: what was said
        so far is the message; the caller saves it, then raises `recording.hangup`.
        """
        self.clear_keys()
        start = self.now
        limit = start + ms_to_samples(max_ms)
        message = MessageEnd(silence_ms)
        ended_by = "max_length"
        cut_at: int | None = None
        hung_up: CallEnded | None = None
        try:
            while self.now < limit:
                frame = await self.step()
                sink(frame)
                key = self._pop_key()
                if key is not None and key.digit in end_keys:
                    ended_by = "key"
                    cut_at = key.at - ms_to_samples(KEY_TRIM_MARGIN_MS)
                    break
                cut_at = message.feed(frame, self.now)
                if cut_at is not None:
                    ended_by = "silence"
                    break
        except CallerHungUp as exc:
            hung_up = exc
            ended_by = "hangup"
            cut_at = message.before_hangup(exc.tone_start, self.now)  # not the pause before
        except CallEnded as exc:  # time limit, office pick-up, line lost: keep what was said
            hung_up = exc
            ended_by = "max_call_length" if isinstance(exc, CallTooLong) else exc.cause
        received = self.now - start
        kept = received if cut_at is None else max(0, min(received, cut_at - start))
        self._on_event("recorded", {"ms": int(samples_to_ms(kept)), "ended_by": ended_by})
        return Recording(received=received, kept=kept, ended_by=ended_by, hangup=hung_up)
