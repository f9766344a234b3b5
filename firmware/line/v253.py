"""The V.253 voice-modem protocol as pure functions: commands out, results and events in.

API:
    command(body) -> bytes                  "AT<body>\\r" as bytes (body without "AT")
    vsm_select(codec, rate) -> str          "+VSM=<code>,<rate>"
    vts_digits(digits, *, triples, tone_ms, gap_ms) -> list[str]
                                            dial digits with +VTS, split so each command
                                            fits a modem's line buffer (MAX_COMMAND_CHARS)
    vts_tone(f1_hz, f2_hz, ms) -> str       "+VTS=[f1,f2,d]" (d in 10 ms units)
    flash_register(ms) -> str               "S29=<n>" (hook-flash length, 10 ms units)
    classify_result(line) -> str | None     "OK", "ERROR", "VCON", "CONNECT", "RING",
                                            "NO CARRIER", "BUSY", "NO DIALTONE", "NO ANSWER"
    Codec, parse_vsm(text) -> list[Codec]   the formats an `AT+VSM=?` answer lists
    choose_codec(codecs) -> Codec           16-bit linear > mu-law > A-law > 8-bit linear
    encode_audio(samples, kind) -> bytes    int16 -> the modem's format (and back:)
    decode_audio(data, kind) -> int16       kinds: "linear16", "ulaw", "alaw", "u8", "s8"
    cid_field(line) -> (key, value) | None  "NMBR = 555" -> ("NMBR", "555"); DRON/DROF too
    caller_id_fields(fields) -> dict        CallerId keyword arguments from collected fields
    DleEvent, dle_event(code) -> DleEvent | None     what a `DLE x` from the modem means
    DtmfCollapse                            one key per press from the modem's repeats

Why pure: the protocol is where modems differ, and data-table tests of these functions
pin every variant we have met (OctoPrint's lesson). `modem.py` does the I/O.
Codec numbers in `+VSM` are vendor-specific, so a format is recognised by its name and
bits per sample, never by its number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp import g711
from firmware.dsp.tones import DTMF_FREQS, DTMF_KEYS
from firmware.errors import ModemError, UsageError

SAMPLE_RATE = 8000
MAX_COMMAND_CHARS = 56  # conservative: many modems buffer 60 characters after "AT"
VTS_UNIT_MS = 10  # +VTS durations and S29 count 10 ms units
DIAL_PAUSE_MS = 1000  # a ',' in a dial string

FINAL_RESULTS = ("OK", "ERROR", "VCON", "CONNECT", "NO CARRIER", "BUSY", "NO DIALTONE",
                 "NO DIAL TONE", "NO ANSWER")
NUMERIC_RESULTS = {"0": "OK", "1": "CONNECT", "2": "RING", "3": "NO CARRIER", "4": "ERROR",
                   "6": "NO DIALTONE", "7": "BUSY", "8": "NO ANSWER"}


def command(body: str) -> bytes:
    """One AT command line; `body` is what follows "AT" (e.g. "+FCLASS=8")."""
    return ("AT" + body + "\r").encode("ascii")


def vsm_select(codec: Codec, rate: int = SAMPLE_RATE) -> str:
    return f"+VSM={codec.code},{rate}"


def _units(ms: float) -> int:
    return max(1, int(round(ms / VTS_UNIT_MS)))


def vts_tone(f1_hz: float, f2_hz: float, ms: float) -> str:
    """A tone pair (or one tone with f2=0, or silence with both 0) for `ms`."""
    return f"+VTS=[{int(round(f1_hz))},{int(round(f2_hz))},{_units(ms)}]"


def flash_register(ms: float) -> str:
    """Hook-flash length goes in S29, in 10 ms units (V.250 practice, 1-255)."""
    return f"S29={min(255, _units(ms))}"


def _vts_items(digits: str, triples: bool, tone_ms: float, gap_ms: float) -> list[str]:
    items: list[str] = []
    for typed in digits:
        key = typed.upper()
        if key == ",":
            items.append(f"[0,0,{_units(DIAL_PAUSE_MS)}]")
        elif key not in DTMF_KEYS:
            raise UsageError(f"'{typed}' cannot be dialled (use 0-9, *, #, A-D or ',')")
        elif triples:
            low, high = DTMF_FREQS[key]
            items.append(f"[{int(low)},{int(high)},{_units(tone_ms)}]")
            items.append(f"[0,0,{_units(gap_ms)}]")
        else:
            items.append(f"{{{key},{_units(tone_ms)}}}")
    return items


def vts_digits(digits: str, *, triples: bool, tone_ms: float = 100.0,
               gap_ms: float = 100.0) -> list[str]:
    """+VTS commands that dial `digits`, each short enough for a modem's line buffer.

    `triples=True` spells each key as its frequency pair (for modems that reject
    `+VTS=<digit>`, such as the USR 5637); otherwise `{digit,duration}` items.
    """
    items = _vts_items(digits, triples, tone_ms, gap_ms)
    commands: list[str] = []
    current: list[str] = []
    for item in items:
        if current and len("+VTS=" + ",".join(current + [item])) > MAX_COMMAND_CHARS:
            commands.append("+VTS=" + ",".join(current))
            current = []
        current.append(item)
    if current:
        commands.append("+VTS=" + ",".join(current))
    return commands


def classify_result(line: str) -> str | None:
    """The result code a line carries, or None for information text."""
    text = line.strip().upper()
    if text in NUMERIC_RESULTS:
        return NUMERIC_RESULTS[text]
    if text == "RING":
        return "RING"
    for result in FINAL_RESULTS:
        if text == result or (result == "CONNECT" and text.startswith("CONNECT")):
            return "NO DIALTONE" if result == "NO DIAL TONE" else result
    return None


# ----------------------------------------------------------------------------- formats

KIND_BYTES = {"linear16": 2, "ulaw": 1, "alaw": 1, "u8": 1, "s8": 1}
_KIND_RANK = ("linear16", "ulaw", "alaw", "u8", "s8")


@dataclass(frozen=True)
class Codec:
    """One line of an `AT+VSM=?` answer: the vendor's number, name, bits, rates."""

    code: int
    name: str
    bits: int
    rates: tuple[int, ...]

    @property
    def kind(self) -> str | None:
        """Which of our edge formats this is, judged by name and bits; None if unusable."""
        name = self.name.upper().replace("_", " ").replace("-", " ")
        if "ADPCM" in name or "CELP" in name:
            return None
        if "ULAW" in name or "U LAW" in name or "G.711U" in name or "U LOG" in name \
                or "MU LAW" in name:
            return "ulaw" if self.bits == 8 else None
        if "ALAW" in name or "A LAW" in name or "G.711A" in name or "A LOG" in name:
            return "alaw" if self.bits == 8 else None
        if "PCM" in name or "LINEAR" in name:
            if self.bits == 16:
                return "linear16"
            if self.bits == 8:
                signed = "SIGNED" in name and "UNSIGNED" not in name
                return "s8" if signed else "u8"
        return None


_RANGE = re.compile(r"\(([^)]*)\)|([^,()]+)")


def _rates(field: str) -> tuple[int, ...]:
    rates: list[int] = []
    for part in field.replace("(", "").replace(")", "").split(","):
        part = part.strip()
        if "-" in part:
            lo, _, hi = part.partition("-")
            if lo.strip().isdigit() and hi.strip().isdigit():
                rates += [int(lo), int(hi)]
        elif part.isdigit():
            rates.append(int(part))
    return tuple(rates)


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts, depth, quoted, current = [], 0, False, []
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def parse_vsm(text: str) -> list[Codec]:
    """Codecs from an `AT+VSM=?` answer, with or without "+VSM:" prefixes and quotes."""
    codecs: list[Codec] = []
    for raw in text.replace(";", ",").splitlines():
        line = raw.strip()
        if line.upper().startswith("+VSM:"):
            line = line[5:].strip()
        fields = _split_top(line)
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        name = fields[1].strip().strip('"')
        bits_field = fields[2].strip()
        if not bits_field.isdigit():
            continue
        rates = _rates(fields[4]) if len(fields) > 4 else ()
        codecs.append(Codec(int(fields[0]), name, int(bits_field), rates))
    return codecs


def choose_codec(codecs: list[Codec]) -> Codec:
    """The best format for telephone audio that also runs at 8 kHz."""
    usable = [c for c in codecs if c.kind is not None
              and (not c.rates or SAMPLE_RATE in c.rates
                   or (len(c.rates) == 2 and c.rates[0] <= SAMPLE_RATE <= c.rates[1]))]
    if not usable:
        listed = ", ".join(f"{c.code} {c.name}" for c in codecs) or "nothing"
        raise ModemError(f"the modem offers no 8 kHz format we can use (it lists {listed})")
    return min(usable, key=lambda c: _KIND_RANK.index(c.kind or ""))


def encode_audio(samples: npt.ArrayLike, kind: str) -> bytes:
    """int16 -> the modem's bytes (16-bit linear is little-endian signed)."""
    x = np.asarray(samples, dtype=np.int16)
    if kind == "linear16":
        return x.astype("<i2").tobytes()
    if kind == "ulaw":
        return g711.ulaw_encode(x).tobytes()
    if kind == "alaw":
        return g711.alaw_encode(x).tobytes()
    if kind == "u8":
        return g711.u8_encode(x).tobytes()
    if kind == "s8":
        return (g711.u8_encode(x) ^ np.uint8(0x80)).tobytes()
    raise UsageError(f"unknown modem audio format {kind!r}")


def decode_audio(data: bytes, kind: str) -> npt.NDArray[np.int16]:
    if kind == "linear16":
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    if kind == "ulaw":
        return g711.ulaw_decode(data)
    if kind == "alaw":
        return g711.alaw_decode(data)
    if kind == "u8":
        return g711.u8_decode(data)
    if kind == "s8":
        return g711.u8_decode(np.frombuffer(data, dtype=np.uint8) ^ np.uint8(0x80))
    raise UsageError(f"unknown modem audio format {kind!r}")


# ----------------------------------------------------------------------------- caller ID

CID_KEYS = ("DATE", "TIME", "NMBR", "NAME", "MESG", "DDN_NMBR", "DRON", "DROF")
_CID_LINE = re.compile(r"^\s*([A-Za-z_]+)\s*[=:]\s*(.*?)\s*$")
# What modems print instead of a withheld number or name -> the reason code.
_ABSENT_WORDS = {"O": "O", "P": "P", "PRIVATE": "P", "ANONYMOUS": "P", "WITHHELD": "P",
                 "OUT OF AREA": "O", "OUT-OF-AREA": "O", "UNAVAILABLE": "O"}


def cid_field(line: str) -> tuple[str, str] | None:
    """("NMBR", "5551234") from a caller-ID or distinctive-ring report line."""
    match = _CID_LINE.match(line)
    if not match or match.group(1).upper() not in CID_KEYS:
        return None
    return match.group(1).upper(), match.group(2)


def caller_id_fields(fields: dict[str, str]) -> dict[str, str | None]:
    """Keyword arguments for `CallerId` from whatever fields arrived, in any order."""
    out: dict[str, str | None] = {"number": None, "name": None, "when": None,
                                  "number_absent": None, "name_absent": None}
    for key, present, absent in (("NMBR", "number", "number_absent"),
                                 ("NAME", "name", "name_absent")):
        value = fields.get(key, "").strip()
        if value.upper() in _ABSENT_WORDS:
            out[absent] = _ABSENT_WORDS[value.upper()]
        elif value:
            out[present] = value
    date, clock = fields.get("DATE", "").strip(), fields.get("TIME", "").strip()
    if len(date) == 4 and len(clock) == 4 and (date + clock).isdigit():
        out["when"] = date + clock
    return out


# ----------------------------------------------------------------------------- DLE events


@dataclass(frozen=True)
class DleEvent:
    """A `DLE x` report: kind is "dtmf", "dtmf_start", "dtmf_end", "tone", "hangup",
    "offhook" (line current detected), "end" (DLE ETX), "ring", "ignore"."""

    kind: str
    value: str = ""


_TONES = {"b": "busy", "d": "dial", "s": "silence", "q": "quiet", "c": "fax_cng",
          "e": "fax_ced", "a": "fax_ced", "r": "ringback", "$": "bong"}
_HANGUPS = {"h": "loop_drop", "l": "loop_drop", "P": "polarity", "p": "polarity"}


def dle_event(code: int) -> DleEvent | None:
    """What the modem means by `DLE <code>`; None for a code we do not know."""
    ch = chr(code)
    if ch in DTMF_KEYS:
        return DleEvent("dtmf", ch)
    if code == 0x03:
        return DleEvent("end")
    if ch == "/":
        return DleEvent("dtmf_start")
    if ch == "~":
        return DleEvent("dtmf_end")
    if ch in _TONES:
        return DleEvent("tone", _TONES[ch])
    if ch in _HANGUPS:
        return DleEvent("hangup", _HANGUPS[ch])
    if ch == "H":
        return DleEvent("offhook")
    if ch == "R":
        return DleEvent("ring")
    if ch in "ouT.X":  # overrun, underrun, timing mark, complex-event framing
        return DleEvent("ignore", ch)
    return None


DTMF_REPEAT_MS = 80  # a modem repeats a held key's report about every 70 ms


class DtmfCollapse:
    """One digit per key press from a modem's reports.

    With start/end markers (`DLE /` ... `DLE ~`) everything between them is one press.
    Without markers a modem repeats the digit while the key is held, so the same digit
    again within DTMF_REPEAT_MS (in samples) of its previous report is the same press;
    `repeat_samples=0` is for modems that report each press once.
    """

    def __init__(self, repeat_samples: int = DTMF_REPEAT_MS * SAMPLE_RATE // 1000):
        self._repeat = repeat_samples
        self._in_marker = False
        self._marker_reported = False
        self._last: tuple[str, int] | None = None

    def feed(self, event: DleEvent, at: int) -> str | None:
        """The digit to report for this event at sample `at`, or None."""
        if event.kind == "dtmf_start":
            self._in_marker, self._marker_reported = True, False
            return None
        if event.kind == "dtmf_end":
            self._in_marker = False
            self._last = None
            return None
        if event.kind != "dtmf":
            return None
        if self._in_marker:
            if self._marker_reported:
                return None
            self._marker_reported = True
            return event.value
        last = self._last
        self._last = (event.value, at)
        if self._repeat and last and last[0] == event.value and at - last[1] <= self._repeat:
            return None
        return event.value
