"""Caller ID on an analog line: a generator for every standard we meet, and one streaming
decoder that listens for all of them at once.

API:
    STANDARDS                       "bell202-sdmf", "bell202-mdmf", "etsi-v23", "ntt", "dtmf"
    CallerIdInfo(number, name, when, number_absent, name_absent, dialled)   (frozen)
    generate(info, standard, *, level_dbm0=-13.0, rate=8000, alert=False,
             dtmf_form="DC", corrupt=False) -> int16 samples
    CallerIdMessage                 what the decoder found (fields, standard, checksum_ok,
                                    message_type, start/end sample positions)
    CallerIdDecoder(rate=8000)      .feed(any-length int16) -> list[CallerIdMessage]; .reset()
    decode(samples, rate=8000) -> list[CallerIdMessage]

Why one decoder for all: Taiwan's sources disagree (ETSI V.23 after an alert, Bell 202,
DTMF D...C), and a box cannot know its exchange. Bell 202 (mark 1200 / space 2200 Hz) and
V.23 (1300 / 2100 Hz) share the 1700 Hz centre, so one FM discriminator yields the bits of
both; the mark frequency measured over the idle run before a message tells which it was.
DTMF caller ID goes through the DTMF detector on the same audio. The demodulator high-
passes first: audio from a codec or a sound card can carry a DC offset.

A message whose checksum (or NTT CRC, or parity) fails is reported with
checksum_ok=False and no fields at all, so a corrupted number is never shown or logged
as if it were the caller's. Positions: `start` is the leading edge of the first
character's start bit (FSK) or of the first DTMF key; `end` is the end of the last one.
Generator timing (Bellcore GR-30 / ETSI EN 300 659-2): 300 bits of channel seizure
(alternating 0/1), 180 mark bits, the message, 10 mark bits after it; NTT has no seizure
(180 mark bits, our assumption). The UK alert (`alert=True`, V.23 only) is 100 ms of
2130+2750 Hz (BT SIN227 allows 88-110 ms) followed by 60 ms of silence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp import callerid_format as fmt
from firmware.dsp.callerid_format import CallerIdInfo, Fields
from firmware.dsp.fsk import AsyncFramer, Char, FskDemodulator, modulate, uart_bits
from firmware.errors import UsageError

__all__ = ["STANDARDS", "CallerIdInfo", "CallerIdMessage", "CallerIdDecoder", "decode",
           "generate"]

SAMPLE_RATE = 8000
STANDARDS = ("bell202-sdmf", "bell202-mdmf", "etsi-v23", "ntt", "dtmf")
BAUD = 1200.0
BELL_MARK_HZ, BELL_SPACE_HZ = 1200.0, 2200.0
V23_MARK_HZ, V23_SPACE_HZ = 1300.0, 2100.0
SEIZURE_BITS = 300
MARK_BITS = 180
POSTAMBLE_BITS = 10
ALERT_HZ = (2130.0, 2750.0)
ALERT_MS = 100.0
ALERT_GAP_MS = 60.0
DTMF_ON_MS = 70.0
DTMF_OFF_MS = 70.0

# Decoder tuning.
CARRIER_MIN_DBM0 = -50.0  # in-band power needed to trust the discriminator
MIN_MARK_BITS = 30.0  # idle mark before the first character (spec: 180, or 80 on CIDCW)
MAX_GAP_BITS = 40.0  # marking allowed between characters of one message
# Idle mark measured with the Bell 202 demodulator: 1200 Hz reads 1.0, 1300 Hz reads 0.8.
V23_IDLE_BELOW = 0.9
DTMF_MAX_GAP_MS = 500.0  # a longer pause between keys ends a DTMF caller ID string
MAX_NTT_CHARS = 140


@dataclass(frozen=True)
class CallerIdMessage:
    number: str | None
    name: str | None
    when: str | None  # "MMDDhhmm"
    number_absent: str | None
    name_absent: str | None
    dialled: str | None
    standard: str
    checksum_ok: bool
    message_type: int
    start: int
    end: int


def _silence(ms: float, rate: int) -> npt.NDArray[np.float64]:
    return np.zeros(int(round(ms * rate / 1000.0)))


def generate(info: CallerIdInfo, standard: str, *, level_dbm0: float = -13.0,
             rate: int = SAMPLE_RATE, alert: bool = False, dtmf_form: str = "DC",
             corrupt: bool = False) -> npt.NDArray[np.int16]:
    """Caller ID audio for one message. `corrupt` spoils the checksum (or CRC) on purpose.

    `rate` other than 8000 Hz is allowed; played back at 8 kHz it shifts every frequency
    and the baud rate by 8000/rate, which is how tests make a +-1 % deviation.
    """
    if standard not in STANDARDS:
        raise UsageError(f"unknown caller ID standard {standard!r}; use one of {STANDARDS}")
    if alert and standard != "etsi-v23":
        raise UsageError("the dual-tone alert belongs to ETSI / BT (etsi-v23) only")
    if standard == "dtmf":
        if corrupt:
            raise UsageError("DTMF caller ID has no checksum to corrupt")
        from firmware.dsp.tones import dtmf

        return dtmf(fmt.dtmf_digits(info, dtmf_form), on_ms=DTMF_ON_MS, off_ms=DTMF_OFF_MS,
                    dbm0=level_dbm0, rate=rate)
    if standard == "ntt":
        msg = fmt.ntt_message(info)
        preamble = [1] * MARK_BITS
    else:
        msg = fmt.class_message(info, sdmf=standard == "bell202-sdmf")
        preamble = [i & 1 for i in range(SEIZURE_BITS)] + [1] * MARK_BITS
    if corrupt:
        msg = msg[:-1] + bytes([msg[-1] ^ 0x5A])
    bits = preamble + uart_bits(msg) + [1] * POSTAMBLE_BITS
    mark, space = ((BELL_MARK_HZ, BELL_SPACE_HZ) if standard.startswith("bell202")
                   else (V23_MARK_HZ, V23_SPACE_HZ))
    out = modulate(bits, mark, space, BAUD, level_dbm0, rate)
    if alert:
        t = np.arange(int(round(ALERT_MS * rate / 1000.0))) / rate
        from firmware.dsp.level import dbm0_to_peak

        tone = sum(dbm0_to_peak(level_dbm0) * np.sin(2 * np.pi * f * t) for f in ALERT_HZ)
        out = np.concatenate((tone, _silence(ALERT_GAP_MS, rate), out))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


class _FskAssembler:
    """Turns framed characters into messages (CLASS/ETSI type-length-checksum, or NTT)."""

    def __init__(self, delay: int) -> None:
        self._delay = delay
        self._chars: list[Char] = []
        self._active = False

    def reset(self) -> None:
        self._chars = []
        self._active = False

    def push(self, ch: Char) -> CallerIdMessage | None:
        if ch.burst_start:
            self._chars = [ch]
            self._active = True
        elif self._active:
            self._chars.append(ch)
        else:
            return None
        first = self._chars[0].value
        if first in fmt.CLASS_TYPES:
            return self._class()
        if first == fmt.with_parity(fmt.DLE):
            return self._ntt()
        self._active = False
        return None

    def _finish(self, fields: Fields | None, standard: str, ok: bool,
                msg_type: int) -> CallerIdMessage:
        self._active = False
        start = self._chars[0].start - self._delay
        end = self._chars[-1].end - self._delay
        f = fields if ok and fields is not None else Fields()
        return CallerIdMessage(f.number, f.name, f.when, f.number_absent, f.name_absent,
                               f.dialled, standard, ok, msg_type, max(0, start), end)

    def _class(self) -> CallerIdMessage | None:
        data = bytes(c.value for c in self._chars)
        if len(data) < 2 or len(data) < data[1] + 3:
            return None
        msg_type, length = data[0], data[1]
        ok = sum(data) & 0xFF == 0
        if self._chars[0].idle_level < V23_IDLE_BELOW:
            standard = "etsi-v23"
        else:
            standard = "bell202-sdmf" if msg_type in (fmt.SDMF, fmt.MWI_SDMF) else "bell202-mdmf"
        fields = fmt.parse_class(msg_type, data[2: 2 + length]) if ok else None
        return self._finish(fields, standard, ok, msg_type)

    def _ntt(self) -> CallerIdMessage | None:
        sent = [c.value for c in self._chars]
        dle, etx = fmt.with_parity(fmt.DLE), fmt.with_parity(fmt.ETX)
        expect = {1: fmt.with_parity(fmt.SOH), 3: dle, 4: fmt.with_parity(fmt.STX)}
        if any(i < len(sent) and sent[i] != v for i, v in expect.items()):
            self._active = False  # not an NTT frame after all
            return None
        # Find an un-doubled DLE ETX after the 5-character header, then two CRC bytes.
        i, as_sent, undoubled = 5, [], []
        end_at = None
        while i + 1 < len(sent):
            if sent[i] == dle and sent[i + 1] == dle:
                as_sent += [dle, dle]
                undoubled.append(dle)
                i += 2
            elif sent[i] == dle and sent[i + 1] == etx:
                end_at = i + 2
                break
            else:
                as_sent.append(sent[i])
                undoubled.append(sent[i])
                i += 1
        if end_at is None:
            if len(sent) > MAX_NTT_CHARS:
                self._active = False
            return None
        if len(sent) < end_at + 2:
            return None
        self._chars = self._chars[: end_at + 2]
        crc = sent[end_at] | (sent[end_at + 1] << 8)
        payload = [b & 0x7F for b in undoubled]
        head = sent[2:5]
        tail = [dle, etx]
        crc_ok = crc in (fmt.crc16_ntt(bytes(head + as_sent + tail)),
                         fmt.crc16_ntt(bytes(head + undoubled + tail)))
        parity_ok = all(fmt.with_parity(b) == b for b in sent[:end_at])
        ok = crc_ok and parity_ok and len(payload) >= 2 and payload[1] == len(payload) - 2
        fields = fmt.parse_ntt(bytes(payload)) if ok else None
        return self._finish(fields, "ntt", ok, payload[0] if payload else 0)


class _DtmfAssembler:
    """Groups DTMF keys into caller ID strings (gap under DTMF_MAX_GAP_MS, C/# ends)."""

    def __init__(self, rate: int) -> None:
        from firmware.dsp.dtmf import DtmfDetector

        self._detector = DtmfDetector(rate=rate)
        self._max_gap = int(DTMF_MAX_GAP_MS * rate / 1000.0)
        self._keys: list[tuple[str, int, int]] = []  # digit, start, end

    def reset(self) -> None:
        self._detector.reset()
        self._keys = []

    def feed(self, block: npt.NDArray[np.int16]) -> list[CallerIdMessage]:
        out: list[CallerIdMessage] = []
        for ev in self._detector.feed(block):
            if not hasattr(ev, "end"):  # KeyDown: wait for the key's end
                continue
            if self._keys and ev.start - self._keys[-1][2] > self._max_gap:
                self._keys = []
            self._keys.append((ev.digit, ev.start, ev.end))
            if ev.digit in "C#":
                digits = "".join(k[0] for k in self._keys)
                # The string begins at its last start marker; ignore keys before it.
                cut = max((i for i, k in enumerate(self._keys[:-1]) if k[0] in "AB"),
                          default=None)
                if cut is None and digits[0] == "D":
                    cut = 0
                keys = self._keys[cut:] if cut is not None else self._keys
                fields = fmt.parse_dtmf("".join(k[0] for k in keys))
                self._keys = []
                if fields is not None:
                    out.append(CallerIdMessage(fields.number, None, None,
                                               fields.number_absent, None, None, "dtmf",
                                               True, 0, keys[0][1], keys[-1][2]))
        return out


class CallerIdDecoder:
    """Streaming caller ID receiver for every standard at once; feed any block length."""

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        if rate != SAMPLE_RATE:
            raise UsageError(f"the caller ID decoder works at {SAMPLE_RATE} Hz, not {rate}")
        self.rate = rate
        self._demod = FskDemodulator(BELL_MARK_HZ, BELL_SPACE_HZ, BAUD, rate,
                                     carrier_dbm0=CARRIER_MIN_DBM0)
        self._framer = AsyncFramer(rate / BAUD, min_idle_bits=MIN_MARK_BITS,
                                   max_gap_bits=MAX_GAP_BITS)
        self._fsk = _FskAssembler(self._demod.delay)
        self._dtmf = _DtmfAssembler(rate)

    def reset(self) -> None:
        self._demod.reset()
        self._framer.reset()
        self._fsk.reset()
        self._dtmf.reset()

    def feed(self, block: npt.ArrayLike) -> list[CallerIdMessage]:
        x = np.asarray(block, dtype=np.int16).ravel()
        if x.size == 0:
            return []
        soft, carrier = self._demod.process(x)
        out: list[CallerIdMessage] = []
        for ch in self._framer.feed(soft, carrier):
            msg = self._fsk.push(ch)
            if msg is not None:
                out.append(msg)
        out.extend(self._dtmf.feed(x))
        out.sort(key=lambda m: m.start)
        return out


def decode(samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> list[CallerIdMessage]:
    """Every caller ID message in a recording, in order."""
    return CallerIdDecoder(rate).feed(samples)
