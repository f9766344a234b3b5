"""The far end of an FXO line under test: a telephone exchange and a caller, modelled at
the board's pins and the sound card's 48 kHz samples.

API:
    make_rig(country="us") -> FxoRig       the contract suite's entry point (rig.py)
    FxoRig                                  the Rig protocol (see tests/line/rig.py)
        .exchange                           the FxoExchange below
    FxoExchange(country, *, pinmap="ivrbox-fxo-ref", device_rate=48000)
        .audio / .factory / .board          fake sound card, clocked mock pins, Board
        .clock() -> float                   line time in seconds (the fake card's)
        .now -> int                         device samples produced so far
        .at(t, fn, tag) / .cancel(tag)      schedule pin changes in line time
        .play(samples, start=None) -> end   far-end audio (device rate) mixed in at `start`
        .background                         callable(start, n) -> samples, or None
        .ring_burst(start, ms) -> end       ring pulses at the country's ring frequency
        .set(**state) / .set_input(name, active)    exchange state / one raw input
        await .until(t) / await .until_pred(fn)     wait for line time (the line pulls)
        .relay_history                      [(t seconds, state)] of the hook relay pin

Independent of the code under test: ring cadences and frequencies come from DESIGN.md's
numbers written out here, tones and caller ID are generated at 48 kHz directly (spec
generators), and 8 kHz speech is converted by FFT, never by the line's soxr edge.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from firmware.board import Board, load_pinmap
from firmware.dsp.callerid import CallerIdInfo, generate
from firmware.dsp.tones import dtmf, plan_for, render
from firmware.line.fxo import FxoLine
from tests.fakes.fake_audio import FakeAudioPort, fft_resample
from tests.fakes.fake_pins import ClockedMockFactory

Samples = npt.NDArray[np.int16]

# DESIGN.md / national specs, written out independently of firmware tables.
RING_PATTERN_MS = {"us": (2000, 4000), "uk": (400, 200, 400, 2000), "de": (1000, 4000),
                   "tw": (1000, 2000), "cn": (1000, 4000), "jp": (1000, 2000)}
RING_HZ = {"us": 20.0, "uk": 25.0, "de": 25.0, "tw": 20.0, "cn": 25.0, "jp": 16.0}
RING_PULSE_DUTY = 0.4  # share of each cycle the opto conducts (one polarity)
CID_STANDARD = {"us": "bell202-mdmf", "uk": "etsi-v23", "de": "etsi-v23",
                "tw": "dtmf", "cn": "bell202-mdmf", "jp": "ntt"}
CID_AFTER_RING_MS = 500.0  # Bell 202: starts >= 500 ms after ring 1
CID_BEFORE_RING_MS = 500.0  # ETSI / DTMF: ring follows the message after this
REVERSAL_TO_ALERT_MS = 150.0  # UK: polarity reversal, then the alert tone
CPC_MS = 800.0  # the exchange's open-loop disconnect signal (250-900 ms)
HANGUP_STYLES = ("loop_drop", "reorder", "dial_tone")


class FxoExchange:
    """Exchange + caller at the FXO board's pins and sound card (see module docstring)."""

    def __init__(self, country: str = "us", *, pinmap: str = "ivrbox-fxo-ref",
                 device_rate: int = 48000) -> None:
        self.country = country.lower()
        self.rate = device_rate
        self.now = 0
        self._stamp = 0  # the clock while an action runs: its own scheduled time
        self._events: list[tuple[int, int, str, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._segments: list[tuple[int, Samples]] = []
        self.background: Callable[[int, int], Samples] | None = None
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self.audio = FakeAudioPort(device_rate, source=self.produce)
        self.audio.on_stop = self._wake  # waiters for line time give up: none will come
        self.factory = ClockedMockFactory(self.clock)
        self.pinmap = load_pinmap(pinmap)
        self.board = Board(self.pinmap, pin_factory=self.factory)
        self.state = {"connected": True, "dropping": False, "reversed": False,
                      "extension": False}
        self.relay = self.factory.gpio(self.pinmap.pins["hook_relay"].gpio)
        self.relay.on_change = self._on_relay
        self.answered_at: int | None = None
        self._update()

    # -- time ---------------------------------------------------------------------------
    def clock(self) -> float:
        return self._stamp / self.rate

    def ms(self, ms: float) -> int:
        return int(round(ms * self.rate / 1000))

    def at(self, t: int, fn: Callable[[], None], tag: str = "") -> None:
        heapq.heappush(self._events, (max(t, self.now), next(self._seq), tag, fn))

    def cancel(self, tag: str) -> None:
        self._events = [e for e in self._events if e[2] != tag]
        heapq.heapify(self._events)

    def produce(self, n: int) -> Samples:
        """The sound card's next `n` captured samples; runs due pin changes first."""
        end = self.now + n
        while self._events and self._events[0][0] < end:
            t, _, _, fn = heapq.heappop(self._events)
            self._stamp = t
            fn()
        out = np.zeros(n)
        if self.background is not None:
            out += self.background(self.now, n)
        keep = []
        for start, samples in self._segments:
            lo, hi = max(start, self.now), min(start + len(samples), end)
            if hi > lo:
                out[lo - self.now : hi - self.now] += samples[lo - start : hi - start]
            if start + len(samples) > end:
                keep.append((start, samples))
        self._segments = keep
        self.now = self._stamp = end
        self._wake()
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)

    def _wake(self) -> None:
        for pred, fut in list(self._waiters):
            if not fut.done() and pred():
                fut.set_result(None)
        self._waiters = [(p, f) for p, f in self._waiters if not f.done()]

    async def until_pred(self, pred: Callable[[], bool]) -> None:
        if pred():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, fut))
        await fut

    async def until(self, t: int) -> None:
        await self.until_pred(lambda: self.now >= t)

    # -- audio --------------------------------------------------------------------------
    def play(self, samples: npt.ArrayLike, start: int | None = None) -> int:
        start = self.now if start is None else start
        x = np.asarray(samples, dtype=np.float64)
        self._segments.append((start, x))
        return start + len(x)

    def tone(self, kind: str) -> Callable[[int, int], Samples]:
        """A call-progress tone on the exchange's own time axis, at the device rate."""
        plan = plan_for(kind, self.country)
        period_ms = sum(plan.cadence_ms) if plan.cadence_ms else 1000.0
        cycle = render(plan, period_ms, rate=self.rate).astype(np.float64)

        def background(start: int, n: int) -> Samples:
            idx = (start + np.arange(n)) % len(cycle)
            return cycle[idx]  # type: ignore[return-value]
        return background

    # -- pins ---------------------------------------------------------------------------
    def set_input(self, name: str, active: bool) -> None:
        spec = self.pinmap.pins.get(name)
        if spec is None:
            return
        pin = self.factory.gpio(spec.gpio)
        if active == spec.active_high:
            pin.drive_high()
        else:
            pin.drive_low()

    @property
    def off_hook(self) -> bool:
        return bool(self.relay.state)

    @property
    def relay_history(self) -> list[tuple[float, bool]]:
        return list(self.relay.history)

    def set(self, **state: bool) -> None:
        self.state.update(state)
        self._update()

    def _update(self) -> None:
        s = self.state
        volts = s["connected"] and not s["dropping"]
        self.set_input("line_voltage", volts)
        self.set_input("polarity", volts and not s["reversed"])
        self.set_input("loop_current", volts and self.off_hook)
        self.set_input("extension_sense", volts and not self.off_hook and not s["extension"])

    def _on_relay(self, t: float, state: bool) -> None:
        if state:  # ring trip: the exchange stops ringing as soon as the loop closes
            self.cancel("ring")
            self.set_input("ring_detect", False)
            if self.answered_at is None:
                self.answered_at = self.audio.played_samples
        self._update()
        self._wake()

    def ring_burst(self, start: int, ms: float) -> int:
        """Ring pulses from `start` for `ms`: the opto conducts part of each cycle."""
        period = self.rate / RING_HZ[self.country]
        cycles = int(round(ms / 1000 * RING_HZ[self.country]))
        for k in range(cycles):
            t = start + int(round(k * period))
            self.at(t, lambda: self.set_input("ring_detect", True), "ring")
            self.at(t + int(round(RING_PULSE_DUTY * period)),
                    lambda: self.set_input("ring_detect", False), "ring")
        return start + self.ms(ms)

    def ring_once(self, start: int) -> int:
        """One ring of the country's cadence from `start`; the end of its on/off part."""
        pattern = RING_PATTERN_MS[self.country][:-1]
        t = start
        for i, ms in enumerate(pattern):
            t = self.ring_burst(t, ms) if i % 2 == 0 else t + self.ms(ms)
        return t

    def close(self) -> None:
        self.board.close()


class FxoRig:
    """The Rig protocol of tests/line/rig.py over FxoExchange and a real FxoLine."""

    hangup_styles = HANGUP_STYLES

    def __init__(self, country: str = "us") -> None:
        self.country = country.lower()
        self.exchange = FxoExchange(self.country)
        self.line = FxoLine(self.exchange.audio, self.exchange.board, country=self.country,
                            clock=self.exchange.clock)

    @property
    def is_off_hook(self) -> bool:
        return self.exchange.off_hook

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        self.exchange.close()

    async def ring(self, count: int, caller_id: CallerIdInfo | None = None,
                   standard: str | None = None) -> bool:
        ex = self.exchange
        standard = standard or CID_STANDARD[self.country]
        t = ex.now + ex.ms(100)
        if caller_id is not None and not standard.startswith("bell202"):
            alert = standard == "etsi-v23" and self.country == "uk"
            if alert:
                ex.at(t, lambda: ex.set(reversed=True), "ring")
                t += ex.ms(REVERSAL_TO_ALERT_MS)
            t = ex.play(generate(caller_id, standard, alert=alert, rate=ex.rate), t)
            t += ex.ms(CID_BEFORE_RING_MS)
            if alert:
                ex.at(t, lambda: ex.set(reversed=False), "ring")
        period = ex.ms(sum(RING_PATTERN_MS[self.country]))
        first = t
        for i in range(count):
            end = ex.ring_once(first + i * period)
            if i == 0 and caller_id is not None and standard.startswith("bell202"):
                ex.play(generate(caller_id, standard, rate=ex.rate), end + ex.ms(CID_AFTER_RING_MS))
        give_up = first + count * period
        await ex.until_pred(lambda: ex.off_hook or ex.now >= give_up or not ex.audio.started)
        ex.cancel("ring")
        ex.set_input("ring_detect", False)
        return ex.off_hook

    async def _step(self, end: int) -> None:
        """Until line time `end`, or until the box closed the line (time stops then)."""
        ex = self.exchange
        await ex.until_pred(lambda: ex.now >= end or not ex.audio.started)

    async def wait(self, ms: float) -> None:
        ex = self.exchange
        await self._step(ex.now + ex.ms(ms))

    async def press(self, digits: str, on_ms: float = 100.0, off_ms: float = 100.0,
                    dbm0: float = -10.0) -> None:
        ex = self.exchange
        await self._step(ex.play(dtmf(digits, on_ms, off_ms, dbm0, rate=ex.rate)))

    async def speak(self, samples: npt.NDArray[np.int16]) -> None:
        ex = self.exchange
        await self._step(ex.play(fft_resample(samples, 8000, ex.rate)))

    async def hang_up(self, style: str = "loop_drop") -> None:
        ex = self.exchange
        if style == "loop_drop":
            ex.set(dropping=True)
            end = ex.now + ex.ms(CPC_MS)
            ex.at(end, lambda: ex.set(dropping=False), "cpc")
            await self._step(end)
        elif style in ("reorder", "dial_tone"):
            ex.background = ex.tone("reorder" if style == "reorder" else "dial")
            await self._step(ex.now + ex.ms(20))
        else:
            raise ValueError(f"hang-up style '{style}' (known: {', '.join(HANGUP_STYLES)})")

    def heard(self) -> npt.NDArray[np.int16]:
        start = self.exchange.answered_at
        if start is None:
            return np.zeros(0, dtype=np.int16)
        return self.exchange.audio.played_line(start)


def make_rig(country: str = "us") -> FxoRig:
    return FxoRig(country)
