"""The V.253 protocol's pure functions, from data tables: commands, results, +VSM lists,
caller-ID lines, DLE events and shielding (with a property test over random splits),
DTMF repeat collapse, and modem identification."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.dsp import g711
from firmware.errors import ModemError, UsageError
from firmware.line import dle, v253
from firmware.line.dle import Audio, Dle, Line, StreamDecoder
from firmware.line.modem_quirks import GENERIC, MODELS, identify

# ---------------------------------------------------------------- commands


def test_command_is_at_body_cr() -> None:
    assert v253.command("+FCLASS=8") == b"AT+FCLASS=8\r"
    assert v253.command("") == b"AT\r"


@pytest.mark.parametrize("ms, expected", [(500, "S29=50"), (90, "S29=9"), (100, "S29=10"),
                                          (750, "S29=75"), (5000, "S29=255"), (1, "S29=1")])
def test_flash_length_goes_in_s29_in_10ms_units(ms: int, expected: str) -> None:
    assert v253.flash_register(ms) == expected


def test_vts_tone_triple() -> None:
    assert v253.vts_tone(900, 0, 1200) == "+VTS=[900,0,120]"
    assert v253.vts_tone(697.0, 1209.0, 100) == "+VTS=[697,1209,10]"


def test_vts_digits_as_digits_and_as_frequency_triples() -> None:
    assert v253.vts_digits("12", triples=False) == ["+VTS={1,10},{2,10}"]
    cmds = v253.vts_digits("1#", triples=True)
    assert cmds == ["+VTS=[697,1209,10],[0,0,10],[941,1477,10],[0,0,10]"]
    assert v253.vts_digits("1,2", triples=False) == ["+VTS={1,10},[0,0,100],{2,10}"]


@pytest.mark.parametrize("triples", [False, True])
def test_long_numbers_are_split_to_fit_the_modems_line_buffer(triples: bool) -> None:
    digits = "18005551234567890*#"
    cmds = v253.vts_digits(digits, triples=triples)
    assert all(len(c) <= v253.MAX_COMMAND_CHARS for c in cmds)
    spelled = "".join(c[len("+VTS="):] + "," for c in cmds)
    if triples:
        assert spelled.count("[0,0,10]") == len(digits)
    else:
        assert "".join(part[0] for part in spelled.split("{")[1:]) == digits


def test_bad_digit_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'x' cannot be dialled"):
        v253.vts_digits("12x", triples=False)


# ---------------------------------------------------------------- results

RESULTS = [("OK", "OK"), ("  ok ", "OK"), ("ERROR", "ERROR"), ("VCON", "VCON"),
           ("CONNECT", "CONNECT"), ("CONNECT 33600", "CONNECT"), ("RING", "RING"),
           ("NO CARRIER", "NO CARRIER"), ("BUSY", "BUSY"), ("NO DIAL TONE", "NO DIALTONE"),
           ("NO DIALTONE", "NO DIALTONE"), ("NO ANSWER", "NO ANSWER"), ("0", "OK"),
           ("4", "ERROR"), ("5601", None), ("NMBR=5551234", None), ("OKAY", None),
           ("U.S. Robotics 56K FAX USB V1.2.23", None)]


@pytest.mark.parametrize("line, expected", RESULTS)
def test_classify_result(line: str, expected: str | None) -> None:
    assert v253.classify_result(line) == expected


# ---------------------------------------------------------------- +VSM=?

USR_VSM = """1,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)
128,"8-BIT LINEAR",8,0,(7200,8000),(0),(0)
129,"ADPCM",4,0,(7200,8000),(0),(0)
130,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)
131,"ULAW",8,0,(7200,8000),(0),(0)
132,"ALAW",8,0,(7200,8000),(0),(0)"""
USR_SOFT_VSM = USR_VSM + '\n133,"LINEAR",16,0,(7200,8000),(0),(0)'
CX_VSM = """+VSM: 0,"SIGNED PCM",8,0,(7200,8000,11025),(0),(0)
+VSM: 1,"UNSIGNED PCM",8,0,(7200,8000,11025),(0),(0)
+VSM: 4,"IMA ADPCM",4,0,(7200,8000,11025),(0),(0)
+VSM: 133,"16-BIT LINEAR",16,0,(7200,8000,11025),(0),(0)"""
CONEXANT_SOFT_VSM = """1,"UNSIGNED PCM",8,0,8000,0,0
129,"IMA ADPCM",4,0,8000,0,0
130,"UNSIGNED PCM",8,0,8000,0,00
140,"2 Bit ADPCM",2,0,8000,0,0
141,"4 Bit ADPCM",4,0,8000,0,0"""
MULTITECH_VSM = """128,"SIGNED PCM",12,0,(7200-8000,11025),(127-129),(0-50)
132,"ADPCM/AQ",2,40,(7200),(128),(0-50)"""
ALAW_ONLY = '2,"A-LAW",8,0,(8000),(0),(0)\n3,"CELP",1,0,(9600),(0),(0)'
NO_8K = '5,"ULAW",8,0,(7200),(0),(0)'

CHOICES = [(USR_VSM, 131, "ulaw"), (USR_SOFT_VSM, 133, "linear16"),
           (CX_VSM, 133, "linear16"), (CONEXANT_SOFT_VSM, 1, "u8"),
           (ALAW_ONLY, 2, "alaw")]


@pytest.mark.parametrize("text, code, kind", CHOICES)
def test_choose_the_best_format_the_modem_lists(text: str, code: int, kind: str) -> None:
    codec = v253.choose_codec(v253.parse_vsm(text))
    assert (codec.code, codec.kind) == (code, kind)


def test_parse_vsm_fields_and_rates() -> None:
    codecs = v253.parse_vsm(CX_VSM + "\nOK\n")
    assert [c.code for c in codecs] == [0, 1, 4, 133]
    assert codecs[3] == v253.Codec(133, "16-BIT LINEAR", 16, (7200, 8000, 11025))
    assert [c.kind for c in codecs] == ["s8", "u8", None, "linear16"]
    assert v253.parse_vsm(MULTITECH_VSM)[0].rates == (7200, 8000, 11025)


@pytest.mark.parametrize("text", [MULTITECH_VSM, NO_8K, "", "OK"])
def test_no_usable_format_is_a_clear_modem_error(text: str) -> None:
    with pytest.raises(ModemError, match="no 8 kHz format"):
        v253.choose_codec(v253.parse_vsm(text))


@pytest.mark.parametrize("kind", ["linear16", "ulaw", "alaw", "u8", "s8"])
def test_audio_edge_round_trip(kind: str) -> None:
    x = (np.sin(np.arange(800) / 7.0) * 20000).astype(np.int16)
    data = v253.encode_audio(x, kind)
    assert len(data) == 800 * v253.KIND_BYTES[kind]
    y = v253.decode_audio(data, kind)
    assert y.dtype == np.int16 and len(y) == 800
    assert np.max(np.abs(y.astype(int) - x)) < (800 if kind in ("ulaw", "alaw") else 300)


def test_16bit_linear_is_little_endian_signed_and_g711_matches_the_codec_module() -> None:
    assert v253.encode_audio(np.array([0x1234, -2], np.int16), "linear16") == \
        b"\x34\x12\xfe\xff"
    x = np.arange(-32768, 32768, 97, dtype=np.int16)
    assert v253.encode_audio(x, "ulaw") == g711.ulaw_encode(x).tobytes()
    assert v253.encode_audio(x, "alaw") == g711.alaw_encode(x).tobytes()


# ---------------------------------------------------------------- caller ID

CID_CASES = [
    ({"DATE": "0321", "TIME": "1405", "NMBR": "5551234", "NAME": "ALICE SMITH"},
     {"number": "5551234", "name": "ALICE SMITH", "when": "03211405"}),
    ({"NMBR": "5551234"}, {"number": "5551234"}),
    ({"NAME": "BOB", "NMBR": "0912345678", "TIME": "0930"}, {"number": "0912345678",
                                                              "name": "BOB"}),
    ({"DATE": "0321", "TIME": "1405", "NMBR": "P", "NAME": "P"},
     {"number_absent": "P", "name_absent": "P", "when": "03211405"}),
    ({"NMBR": "O", "NAME": "O"}, {"number_absent": "O", "name_absent": "O"}),
    ({"NMBR": "PRIVATE", "NAME": "OUT OF AREA"}, {"number_absent": "P", "name_absent": "O"}),
    ({"NMBR": "5551234", "NAME": "O'BRIEN P"}, {"number": "5551234", "name": "O'BRIEN P"}),
    ({"DATE": "03x1", "TIME": "1405", "NMBR": "5551234"}, {"number": "5551234"}),
]


@pytest.mark.parametrize("fields, expected", CID_CASES)
def test_caller_id_fields(fields: dict[str, str], expected: dict[str, str]) -> None:
    full = {"number": None, "name": None, "when": None, "number_absent": None,
            "name_absent": None, **expected}
    assert v253.caller_id_fields(fields) == full


CID_LINES = [("NMBR=5551234", ("NMBR", "5551234")), ("NMBR = 5551234", ("NMBR", "5551234")),
             ("nmbr=5551234", ("NMBR", "5551234")), ("DATE = 0805", ("DATE", "0805")),
             ("NAME=Test5 - Permitted", ("NAME", "Test5 - Permitted")),
             ("NAME=", ("NAME", "")), ("DRON=20", ("DRON", "20")), ("DROF=40", ("DROF", "40")),
             ("RING", None), ("OK", None), ("+VSM: 0,\"X\"", None), ("FOO=1", None)]


@pytest.mark.parametrize("line, expected", CID_LINES)
def test_cid_field(line: str, expected: tuple[str, str] | None) -> None:
    assert v253.cid_field(line) == expected


# ---------------------------------------------------------------- DLE events

EVENTS = [("5", "dtmf", "5"), ("*", "dtmf", "*"), ("#", "dtmf", "#"), ("D", "dtmf", "D"),
          ("/", "dtmf_start", ""), ("~", "dtmf_end", ""), ("b", "tone", "busy"),
          ("d", "tone", "dial"), ("s", "tone", "silence"), ("q", "tone", "quiet"),
          ("c", "tone", "fax_cng"), ("e", "tone", "fax_ced"), ("h", "hangup", "loop_drop"),
          ("l", "hangup", "loop_drop"), ("P", "hangup", "polarity"),
          ("p", "hangup", "polarity"), ("H", "offhook", ""), ("\x03", "end", ""),
          ("R", "ring", ""), ("u", "ignore", "u"), ("o", "ignore", "o")]


@pytest.mark.parametrize("code, kind, value", EVENTS)
def test_dle_event_codes(code: str, kind: str, value: str) -> None:
    assert v253.dle_event(ord(code)) == v253.DleEvent(kind, value)


def test_unknown_dle_code() -> None:
    assert v253.dle_event(ord("Z")) is None


def _collapse(reports: list[tuple[str, int]]) -> str:
    c = v253.DtmfCollapse()
    out = ""
    for code, at in reports:
        digit = c.feed(v253.dle_event(ord(code)), at)  # type: ignore[arg-type]
        out += digit or ""
    return out


COLLAPSE = [
    ([("5", 0), ("5", 560), ("5", 1120)], "5"),  # repeats of one held key
    ([("5", 0), ("5", 560), ("5", 1600), ("5", 2160)], "55"),  # two presses of 5
    ([("1", 0), ("1", 560), ("2", 1600), ("2", 2160)], "12"),
    ([("/", 0), ("5", 0), ("5", 400), ("5", 5000), ("~", 6000)], "5"),  # markers
    ([("/", 0), ("1", 0), ("~", 800), ("/", 1600), ("1", 1600), ("~", 2400)], "11"),
    ([("/", 0), ("1", 0), ("~", 800), ("1", 900)], "11"),
]


@pytest.mark.parametrize("reports, digits", COLLAPSE)
def test_dtmf_repeats_collapse_to_one_key_per_press(reports: list[tuple[str, int]],
                                                    digits: str) -> None:
    assert _collapse(reports) == digits


# ---------------------------------------------------------------- DLE stream


def _feed_all(chunks: list[bytes], decoder: StreamDecoder) -> list[object]:
    items: list[object] = []
    for chunk in chunks:
        items += decoder.feed(chunk)
    merged: list[object] = []
    for item in items:  # audio may arrive in any number of pieces
        if isinstance(item, Audio) and merged and isinstance(merged[-1], Audio):
            merged[-1] = Audio(merged[-1].data + item.data)
        else:
            merged.append(item)
    return merged


STREAM = (b"\r\nOK\r\n\x10/\x105\x10~\r\nCONNECT\r\n" + b"ab\x10\x10c\x10\x1ad" +
          b"\x10b" + b"\x10\x10\x10\x10" + b"\x10\x03" + b"\r\nOK\r\n")
STREAM_ITEMS = [Line("OK"), Dle(ord("/")), Dle(ord("5")), Dle(ord("~")), Line("CONNECT"),
                Audio(b"ab\x10c\x10\x10d"), Dle(ord("b")), Audio(b"\x10\x10"), Dle(0x03),
                Line("OK")]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 1000])
def test_stream_decoder_keeps_state_across_reads(size: int) -> None:
    decoder = StreamDecoder()
    decoder.expect_audio()
    chunks = [STREAM[i:i + size] for i in range(0, len(STREAM), size)]
    assert _feed_all(chunks, decoder) == STREAM_ITEMS
    assert not decoder.audio_mode


def test_connect_without_expect_audio_stays_text() -> None:
    items = _feed_all([b"\r\nCONNECT\r\nOK\r\n"], StreamDecoder())
    assert items == [Line("CONNECT"), Line("OK")]


def test_shield_doubles_every_dle() -> None:
    assert dle.shield(b"\x10a\x10\x10") == b"\x10\x10a\x10\x10\x10\x10"
    assert dle.unshield(dle.shield(bytes(range(256)))) == bytes(range(256))


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600).map(lambda b: b + b"\x10" * (len(b) % 3)),
       cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
       events=st.lists(st.sampled_from(b"0123456789*#ABCDbdsqhl/~"), max_size=4))
def test_shielding_round_trip_over_random_reads(data: bytes, cuts: list[int],
                                                events: list[int]) -> None:
    """Any audio, with events put in, split at any points: the same audio and events."""
    wire = b"".join(dle.shield(data[i::len(events) + 1]) + bytes([dle.DLE, e])
                    for i, e in enumerate(events)) + dle.shield(data[len(events)::len(events)
                                                                     + 1])
    expected_audio = b"".join(data[i::len(events) + 1] for i in range(len(events) + 1))
    stream = wire + b"\x10\x03\r\nOK\r\n"
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)])]
    items = _feed_all(chunks, StreamDecoder(audio=True))
    audio = b"".join(i.data for i in items if isinstance(i, Audio))
    codes = [i.code for i in items if isinstance(i, Dle)]
    assert audio == expected_audio
    assert codes == [*events, dle.ETX]
    assert items[-1] == Line("OK")


# ---------------------------------------------------------------- identification

IDENTITIES = [
    (("5601", "U.S. Robotics 56K FAX USB V1.2.23", "", ""), "usr5637"),
    (("5601", "", "", ""), "usr5637"),
    (("56000", "CX93001-EIS_V0.2002-V92", "CONEXANT", "CX93001-EIS_V0.2002-V92"), "cx93010"),
    (("56000", "", "", ""), "cx93010"),
    (("56000", "Zoom V.92 USB", "Zoom Telephonics", "3095"), "zoom3095"),
    (("", "", "Multi-Tech Systems", "MT9234MU"), "mt9234mu"),
    (("1234", "Acme Voice", "ACME", "X1"), "generic"),
]


@pytest.mark.parametrize("answers, model", IDENTITIES)
def test_identify(answers: tuple[str, str, str, str], model: str) -> None:
    assert identify(*answers).model == model


def test_quirks_table_says_what_issue_3_says() -> None:
    usr, cx, zoom = MODELS["usr5637"], MODELS["cx93010"], MODELS["zoom3095"]
    assert cx.cid_commands == ("-SCID=1", "+VCID=1")
    assert usr.vts_triples and usr.vsm_before_answer and "+VGT=128" in \
        usr.setup_before_answer
    assert usr.ignore_offhook_ms > 0 and GENERIC.ignore_offhook_ms == 0
    assert zoom.end_rx == b"\x10^" and GENERIC.end_rx == b"\x10!"
    assert GENERIC.abort_tx == b"\x10\x18\x10\x03" and GENERIC.end_tx == b"\x10\x03"
