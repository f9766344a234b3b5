"""Caller ID message layouts: building and parsing the bytes (or DTMF digits) that the
FSK or DTMF layer carries. No audio here.

API:
    CallerIdInfo(number, name, when, number_absent, name_absent, dialled)   frozen
    Fields(... same fields ..., message_type)                               parse result
    class_message(info, sdmf, msg_type=0x80) -> bytes      Bell SDMF/MDMF and ETSI (V.23):
                                                           type, length, body, checksum
    class_checksum(data) -> int                            two's complement of the sum
    parse_class(msg_type, body) -> Fields                  SDMF (0x04) or MDMF-style body
    ntt_message(info) -> bytes                             DLE-framed, parity, CRC (see below)
    parse_ntt(payload) -> Fields                           payload = type, length, params
    crc16_ntt(data) -> int                                 CRC-16, x^16+x^12+x^5+1, reflected
    with_parity(byte) -> int                               7 bits + even parity in bit 7
    dtmf_digits(info, form) -> str                         DTMF forms, see DTMF_FORMS
    parse_dtmf(digits) -> Fields | None

Layouts (Bellcore GR-30, ETSI EN 300 659-3, BT SIN227, NTT "number display"):
- SDMF (0x04): "MMDDhhmm" then the number, or a single 'O' (unavailable) / 'P' (private).
- MDMF (0x80, also ETSI "call set-up"): parameters (type, length, value) in any order:
  0x01 date/time MMDDhhmm, 0x02 calling number, 0x03 dialled number, 0x04 reason for
  absence of number ('O' unavailable, 'P' private), 0x07 name, 0x08 reason for absence
  of name. Unknown parameters are skipped. Message waiting types 0x06 / 0x82 parse too.
- NTT (Japan, V.23): each character is 7 data bits + even parity (one start, one stop
  bit); the frame is DLE SOH 0x07 DLE STX, type 0x40, length, parameters (0x02 number,
  0x09 dialled number, 0x04 absence 'C' coin/'O' unavailable/'P' private/'S' service
  conflict), DLE ETX, then a CRC-16 sent low byte first as two plain 8-bit characters.
  A DLE inside type/length/parameters is sent twice (DLE DLE). The CRC covers the
  characters as sent (parity bits and doubled DLEs included) from the 0x07 header
  through ETX. Assumptions, checked against spandsp's JCLIP transmitter (the NTT text
  itself is not public in English): that CRC range, and that a decoder should also
  accept a CRC computed over the un-doubled characters, which we do.
- DTMF forms (ETSI EN 300 659 annex / spandsp's variants), keyed by DTMF_FORMS name:
    "AC": A<number>C     absence B00C = unavailable ('O'), B10C = private ('P')
    "DC": D<number>C     (Taiwan, Kuwait) absence as "AC"
    "A#": A<number>#     absence D1# = private ('P'), D2# = international ('O'),
                         D3# = unavailable ('O')
    "#":  <number>#      (Denmark, Holland) absence as "A#"
  In the A...C form a D field is a redirecting number, not the caller: it is ignored
  when an A field is present.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.errors import UsageError

SDMF = 0x04
MDMF = 0x80
MWI_SDMF = 0x06
MWI_MDMF = 0x82
CLASS_TYPES = (SDMF, MDMF, MWI_SDMF, MWI_MDMF)
NTT_TYPE = 0x40

P_DATETIME = 0x01
P_NUMBER = 0x02
P_DIALLED = 0x03
P_NUMBER_ABSENT = 0x04
P_NAME = 0x07
P_NAME_ABSENT = 0x08
NTT_P_NUMBER = 0x02
NTT_P_ABSENT = 0x04
NTT_P_DIALLED = 0x09

DLE, SOH, STX, ETX = 0x10, 0x01, 0x02, 0x03
NTT_HEADER = 0x07
ABSENCE_CODES = ("O", "P")
DTMF_FORMS = ("AC", "DC", "A#", "#")
_DTMF_C_ABSENT = {"O": "00", "P": "10"}
_DTMF_C_ABSENT_BACK = {"00": "O", "10": "P"}
_DTMF_HASH_ABSENT = {"P": "1", "O": "3"}
_DTMF_HASH_ABSENT_BACK = {"1": "P", "2": "O", "3": "O"}


@dataclass(frozen=True)
class CallerIdInfo:
    """What a caller ID message says. `when` is "MMDDhhmm" (local time, no year)."""

    number: str | None = None
    name: str | None = None
    when: str | None = None
    number_absent: str | None = None  # 'O' unavailable / out of area, 'P' private
    name_absent: str | None = None
    dialled: str | None = None


@dataclass(frozen=True)
class Fields:
    number: str | None = None
    name: str | None = None
    when: str | None = None
    number_absent: str | None = None
    name_absent: str | None = None
    dialled: str | None = None
    message_type: int = 0


def _ascii(text: str, what: str) -> bytes:
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise UsageError(f"caller ID {what} must be plain ASCII: {text!r}") from None
    if len(data) > 80:
        raise UsageError(f"caller ID {what} is too long ({len(data)} characters)")
    return data


def _check_when(when: str | None) -> None:
    if when is not None and (len(when) != 8 or not when.isdigit()):
        raise UsageError(f"caller ID time must be MMDDhhmm (8 digits), not {when!r}")


def _check_absent(code: str | None, what: str, allowed: tuple[str, ...]) -> None:
    if code is not None and code not in allowed:
        raise UsageError(f"{what} absence reason must be one of {allowed}, not {code!r}")


def class_checksum(data: bytes) -> int:
    """The byte that makes the whole message (checksum included) sum to 0 mod 256."""
    return (-sum(data)) & 0xFF


def class_message(info: CallerIdInfo, sdmf: bool, msg_type: int = MDMF) -> bytes:
    """A complete Bell 202 / ETSI message: type, length, body, checksum."""
    _check_when(info.when)
    _check_absent(info.number_absent, "number", ABSENCE_CODES)
    _check_absent(info.name_absent, "name", ABSENCE_CODES)
    if sdmf:
        body = _ascii(info.when or "00000000", "time")
        if info.number:
            body += _ascii(info.number, "number")
        else:
            body += (info.number_absent or "O").encode()
        head = bytes([SDMF, len(body)])
    else:
        params: list[tuple[int, str]] = []
        for ptype, value in ((P_DATETIME, info.when), (P_NUMBER, info.number),
                             (P_DIALLED, info.dialled),
                             (P_NUMBER_ABSENT, info.number_absent),
                             (P_NAME, info.name), (P_NAME_ABSENT, info.name_absent)):
            if value:
                params.append((ptype, value))
        body = b"".join(bytes([t, len(v)]) + _ascii(v, "field") for t, v in params)
        head = bytes([msg_type, len(body)])
    if len(body) > 255:
        raise UsageError("caller ID message is too long")
    msg = head + body
    return msg + bytes([class_checksum(msg)])


def _text(data: bytes) -> str:
    return data.decode("ascii", errors="replace")


def parse_class(msg_type: int, body: bytes) -> Fields:
    """Fields of an SDMF or MDMF-style body (checksum already separated)."""
    if msg_type in (SDMF, MWI_SDMF):
        when = _text(body[:8]) if len(body) >= 8 else None
        rest = _text(body[8:])
        if rest in ABSENCE_CODES:
            return Fields(when=when, number_absent=rest, message_type=msg_type)
        return Fields(number=rest or None, when=when, message_type=msg_type)
    values: dict[int, str] = {}
    i = 0
    while i + 2 <= len(body):
        ptype, plen = body[i], body[i + 1]
        values.setdefault(ptype, _text(body[i + 2: i + 2 + plen]))
        i += 2 + plen
    return Fields(number=values.get(P_NUMBER) or None, name=values.get(P_NAME) or None,
                  when=values.get(P_DATETIME), number_absent=values.get(P_NUMBER_ABSENT),
                  name_absent=values.get(P_NAME_ABSENT),
                  dialled=values.get(P_DIALLED) or None, message_type=msg_type)


def with_parity(byte: int) -> int:
    """7-bit character with even parity in bit 7 (NTT)."""
    byte &= 0x7F
    return byte | ((bin(byte).count("1") & 1) << 7)


def crc16_ntt(data: bytes) -> int:
    """CRC-16 with generator x^16+x^12+x^5+1, bit-reflected, initial value 0."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def ntt_message(info: CallerIdInfo) -> bytes:
    """A complete NTT frame as sent, parity bits and CRC included."""
    _check_absent(info.number_absent, "number", ("C", "O", "P", "S"))
    params: list[tuple[int, str]] = []
    if info.number:
        params.append((NTT_P_NUMBER, info.number))
    if info.number_absent:
        params.append((NTT_P_ABSENT, info.number_absent))
    if info.dialled:
        params.append((NTT_P_DIALLED, info.dialled))
    body = b"".join(bytes([t, len(v)]) + _ascii(v, "field") for t, v in params)
    payload = bytes([NTT_TYPE, len(body)]) + body
    if len(body) > 127:
        raise UsageError("caller ID message is too long for NTT framing")
    sent = [with_parity(b) for b in (DLE, SOH, NTT_HEADER, DLE, STX)]
    for b in payload:
        if b == DLE:
            sent.append(with_parity(DLE))
        sent.append(with_parity(b))
    sent += [with_parity(DLE), with_parity(ETX)]
    crc = crc16_ntt(bytes(sent[2:]))
    return bytes(sent) + bytes([crc & 0xFF, crc >> 8])


def parse_ntt(payload: bytes) -> Fields:
    """Fields of an NTT payload (type, length, parameters; parity and DLEs removed)."""
    msg_type = payload[0] if payload else 0
    values: dict[int, str] = {}
    i = 2
    while i + 2 <= len(payload):
        ptype, plen = payload[i], payload[i + 1]
        values.setdefault(ptype, _text(payload[i + 2: i + 2 + plen]))
        i += 2 + plen
    return Fields(number=values.get(NTT_P_NUMBER) or None,
                  number_absent=values.get(NTT_P_ABSENT),
                  dialled=values.get(NTT_P_DIALLED) or None, message_type=msg_type)


def dtmf_digits(info: CallerIdInfo, form: str = "DC") -> str:
    """The DTMF key string for one of DTMF_FORMS."""
    if form not in DTMF_FORMS:
        raise UsageError(f"DTMF caller ID form must be one of {DTMF_FORMS}, not {form!r}")
    number = info.number
    if number is not None and (not number or not number.isdigit()):
        raise UsageError(f"a DTMF caller ID number must be digits only: {number!r}")
    if form in ("AC", "DC"):
        if number:
            return ("A" if form == "AC" else "D") + number + "C"
        _check_absent(info.number_absent, "number", ABSENCE_CODES)
        return "B" + _DTMF_C_ABSENT[info.number_absent or "O"] + "C"
    if number:
        return ("A" if form == "A#" else "") + number + "#"
    _check_absent(info.number_absent, "number", ABSENCE_CODES)
    return "D" + _DTMF_HASH_ABSENT[info.number_absent or "O"] + "#"


def parse_dtmf(digits: str) -> Fields | None:
    """Fields of a complete DTMF caller ID string (ending in C or #), else None."""
    if len(digits) < 2 or digits[-1] not in "C#":
        return None
    body = digits[:-1]
    if digits[-1] == "#":
        if body.startswith("D") and body[1:] in _DTMF_HASH_ABSENT_BACK:
            return Fields(number_absent=_DTMF_HASH_ABSENT_BACK[body[1:]])
        number = body[1:] if body.startswith("A") else body
        return Fields(number=number) if number.isdigit() else None
    # C-terminated: fields introduced by A (caller), D (redirecting or, alone, caller),
    # B (special information: absence).
    fields: dict[str, str] = {}
    key = ""
    for ch in body:
        if ch in "ABD":
            key = ch
            fields[key] = ""
        elif ch.isdigit() and key:
            fields[key] += ch
        else:
            return None
    number = fields.get("A") or fields.get("D") or None
    absent = _DTMF_C_ABSENT_BACK.get(fields.get("B", ""))
    if number is None and absent is None:
        return None
    return Fields(number=number, number_absent=absent)
