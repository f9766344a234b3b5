"""What each emulated voice modem says and does differently (see modem_emulator.py).

API:
    Personality                 frozen description of one modem model
    PERSONALITIES               "usr5637", "cx93010" -> Personality
    VSM_16BIT, VSM_ULAW, VSM_U8 `+VSM=?` lists for format-negotiation tests

The answers follow the vendors' manuals: the USR 5637 (ATI0 "5601") lists 8-bit linear
and G.711 formats without a "+VSM:" prefix, reports each DTMF key once (the Hayes
voice manuals: "only one <DLE>code per DTMF button pushed") and sends `DLE H` right
after it goes off-hook; the Conexant CX93010
(ATI0 "56000") prefixes "+VSM:", has 16-bit linear, repeats a held key's digit every 70 ms
between `DLE /` and `DLE ~` (as in the MultiTech V.253 example), reports distinctive-ring cadence (`DROF=`/`DRON=`) and only reports caller ID
when both `-SCID=1` and `+VCID=1` were given since the last reset.
"""

from __future__ import annotations

from dataclasses import dataclass

# (code, name, bits): how the vendors word their formats.
VSM_USR = ((1, "UNSIGNED PCM", 8), (128, "8-BIT LINEAR", 8), (129, "ADPCM", 4),
           (130, "UNSIGNED PCM", 8), (131, "ULAW", 8), (132, "ALAW", 8))
VSM_CX = ((0, "SIGNED PCM", 8), (1, "UNSIGNED PCM", 8), (2, "IMA ADPCM", 4),
          (128, "8-BIT LINEAR", 8), (131, "G.711U", 8), (132, "G.711A", 8),
          (133, "16-BIT LINEAR", 16))
VSM_16BIT = VSM_CX
VSM_ULAW = VSM_USR
VSM_U8 = ((1, "UNSIGNED PCM", 8), (129, "IMA ADPCM", 4), (140, "2 Bit ADPCM", 2))

# name (upper case) -> our edge kind, for the emulator's own codec
KIND_OF_NAME = {"UNSIGNED PCM": "u8", "8-BIT LINEAR": "u8", "ULAW": "ulaw",
                "G.711U": "ulaw", "ALAW": "alaw", "G.711A": "alaw", "SIGNED PCM": "s8",
                "16-BIT LINEAR": "linear16", "LINEAR": "linear16"}


@dataclass(frozen=True)
class Personality:
    name: str
    ati0: str
    ati3: str
    fmi: str
    fmm: str
    vsm: tuple[tuple[int, str, int], ...]
    vsm_prefix: bool
    dtmf_style: str  # "once", "repeat" (every DTMF_REPEAT_MS), "markers" (/ d d .. ~)
    vts_digits_ok: bool  # accepts AT+VTS=<digit>
    vgt_before_vls: bool  # needs +VGT and +VSM after going idle, before +VLS=1
    offhook_report: bool  # sends DLE H right after +VLS=1
    vdr: bool  # distinctive ring reports
    cid_needs_scid: bool
    loop_drop_code: bytes
    answer_result: str  # what +VLS=1 answers
    end_rx: bytes


PERSONALITIES = {
    "usr5637": Personality(
        name="usr5637", ati0="5601", ati3="U.S. Robotics 56K FAX USB V1.2.23",
        fmi="U.S. Robotics", fmm="USR5637", vsm=VSM_USR, vsm_prefix=False,
        dtmf_style="once", vts_digits_ok=False, vgt_before_vls=True,
        offhook_report=True, vdr=False, cid_needs_scid=False, loop_drop_code=b"h",
        answer_result="VCON", end_rx=b"!"),
    "cx93010": Personality(
        name="cx93010", ati0="56000", ati3="CX93001-EIS_V0.2002-V92",
        fmi="CONEXANT", fmm="CX93001-EIS_V0.2002-V92", vsm=VSM_CX, vsm_prefix=True,
        dtmf_style="markers", vts_digits_ok=True, vgt_before_vls=False,
        offhook_report=False, vdr=True, cid_needs_scid=True, loop_drop_code=b"l",
        answer_result="OK", end_rx=b"!"),
}
