"""Which voice modem this is, and how it departs from V.253: the quirks table.

API:
    Quirks                      frozen: everything modem.py does differently per model
    MODELS                      name -> Quirks for the modems we support
    GENERIC                     plain V.253, for a modem we do not recognise
    identify(ati0, ati3, fmi, fmm) -> Quirks     from the identity answers (any may be "")
    IDENTITY_COMMANDS           the queries whose answers `identify` takes, in order

Supported models: USRobotics 5637 (firmware 1.2.23), Conexant CX93010 (StarTech
USB56KEMH2), Zoom 3095, MultiTech MT9234MU. What each needs, and why:
- Conexant forgets caller-ID reporting on reset: `AT-SCID=1` and `AT+VCID=1` again.
- The USR wants gain (`+VGT`) and format (`+VSM`) set before `+VLS=1` takes the line,
  rejects `AT+VTS=<digit>` (so digits go as frequency triples), reports each key once
  (so a digit right after the same digit is a new press), and reports `DLE H`
  (line current detected: its own off-hook) right after answering: not a hang-up.
- The Zoom 3095 ends a recording on `DLE ^`, not the standard `DLE !`.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.line.dle import CAN, DLE, ETX

IDENTITY_COMMANDS = ("I0", "I3", "+FMI?", "+FMM?")

_END_TX = bytes([DLE, ETX])
_ABORT_TX = bytes([DLE, CAN, DLE, ETX])


@dataclass(frozen=True)
class Quirks:
    model: str
    cid_commands: tuple[str, ...] = ("+VCID=1",)  # re-sent after every reset
    setup_before_answer: tuple[str, ...] = ()  # gain etc. before +VLS=1
    vsm_before_answer: bool = False
    vts_triples: bool = False  # spell DTMF digits as [f1,f2,d] in +VTS
    silence_detect_off: str = "+VSD=128,0"
    end_rx: bytes = bytes([DLE, ord("!")])  # ends a recording (AT+VRX)
    end_tx: bytes = _END_TX  # ends playback after the buffer drains
    abort_tx: bytes = _ABORT_TX  # barge-in: drop the buffer, end now
    ignore_offhook_ms: int = 0  # DLE H within this long after answering is ours
    flash_command: str = "+VTS=!"
    dtmf_repeat_ms: int = 80  # same digit again within this = the same press; 0: never
    supports_vdr: bool = True  # +VDR distinctive-ring (cadence) reports


GENERIC = Quirks(model="generic")

MODELS: dict[str, Quirks] = {
    "usr5637": Quirks(
        model="usr5637",
        setup_before_answer=("+VGT=128",),
        vsm_before_answer=True,
        vts_triples=True,
        ignore_offhook_ms=1500,
        dtmf_repeat_ms=0,  # one report per key press (Hayes voice manuals)
        flash_command="D!;",
        supports_vdr=False,
    ),
    "cx93010": Quirks(
        model="cx93010",
        cid_commands=("-SCID=1", "+VCID=1"),
        silence_detect_off="+VSD=0,0",
    ),
    "zoom3095": Quirks(
        model="zoom3095",
        cid_commands=("-SCID=1", "+VCID=1"),
        silence_detect_off="+VSD=0,0",
        end_rx=bytes([DLE, ord("^")]),
    ),
    "mt9234mu": Quirks(model="mt9234mu"),
}

# (substring of the lower-cased identity text, or exact ATI0 product code) -> model.
_BY_TEXT = (
    ("robotics", "usr5637"),
    ("zoom", "zoom3095"),
    ("3095", "zoom3095"),
    ("multi-tech", "mt9234mu"),
    ("multitech", "mt9234mu"),
    ("mt9234", "mt9234mu"),
    ("cx930", "cx93010"),
    ("conexant", "cx93010"),
)
_BY_PRODUCT_CODE = {"5601": "usr5637", "56000": "cx93010"}


def identify(ati0: str = "", ati3: str = "", fmi: str = "", fmm: str = "") -> Quirks:
    """The quirks of the modem that gave these identity answers (GENERIC if unknown)."""
    text = " ".join((ati3, fmi, fmm)).lower()
    for needle, model in _BY_TEXT:
        if needle in text:
            return MODELS[model]
    code = ati0.strip().split()[0] if ati0.strip() else ""
    if code in _BY_PRODUCT_CODE:
        return MODELS[_BY_PRODUCT_CODE[code]]
    return GENERIC
