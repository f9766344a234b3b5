"""Caller ID: generator against decoder by the numbers (level, noise, G.711, DC, frequency
and baud error, surroundings), streaming invariance, checksum handling, and independent
signals (minimodem, multimon-ng, spandsp) where those tools are installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.cli import main
from firmware.dsp import callerid_format as fmt
from firmware.dsp.callerid import (
    BELL_MARK_HZ, BELL_SPACE_HZ, V23_MARK_HZ, V23_SPACE_HZ, CallerIdDecoder, CallerIdInfo,
    decode, generate,
)
from firmware.dsp.fsk import modulate, uart_bits
from firmware.dsp.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from firmware.dsp.level import white_noise
from firmware.errors import UsageError

RATE = 8000
FSK_STANDARDS = ("bell202-sdmf", "bell202-mdmf", "etsi-v23", "ntt")
REPO = Path(__file__).resolve().parents[2]
FULL = CallerIdInfo(number="0223456789", name="WANG XIAO MING", when="03141530")


def _pad(x: np.ndarray, before_ms: float = 400, after_ms: float = 400) -> np.ndarray:
    return np.concatenate((np.zeros(int(before_ms * 8), np.int16), x,
                           np.zeros(int(after_ms * 8), np.int16)))


def _expect(info: CallerIdInfo, standard: str) -> dict:
    """What the decoder can recover of `info` through `standard`."""
    if standard == "bell202-sdmf":
        return dict(number=info.number, name=None, when=info.when or "00000000",
                    number_absent=None if info.number else (info.number_absent or "O"))
    if standard == "ntt":
        return dict(number=info.number, name=None, when=None,
                    number_absent=info.number_absent)
    return dict(number=info.number, name=info.name, when=info.when,
                number_absent=info.number_absent)


def _check(msgs: list, info: CallerIdInfo, standard: str) -> None:
    assert len(msgs) == 1, msgs
    m = msgs[0]
    assert m.checksum_ok
    assert m.standard == standard
    got = dict(number=m.number, name=m.name, when=m.when, number_absent=m.number_absent)
    assert got == _expect(info, standard)


# -- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize("standard", FSK_STANDARDS)
@pytest.mark.parametrize("info", [
    FULL,
    CallerIdInfo(number="5551234", when="12312359"),
    CallerIdInfo(number_absent="P", when="01010000"),
    CallerIdInfo(number_absent="O", name_absent="O"),
    CallerIdInfo(number="+44 20 7946 0000", name="Bloggs & Co."),
])
def test_round_trip(standard: str, info: CallerIdInfo) -> None:
    _check(decode(_pad(generate(info, standard))), info, standard)


def test_mdmf_fields_dialled_and_name_absence() -> None:
    info = CallerIdInfo(number="0912345678", name_absent="P", dialled="0277778888",
                        when="07040900")
    (m,) = decode(_pad(generate(info, "bell202-mdmf")))
    assert (m.number, m.name, m.name_absent, m.dialled, m.message_type) == (
        "0912345678", None, "P", "0277778888", 0x80)


def test_positions_are_the_message_characters() -> None:
    sig = generate(FULL, "bell202-mdmf")
    (m,) = decode(_pad(sig, 500, 500))
    bit = RATE / 1200
    first_char = 4000 + (300 + 180) * bit
    n_chars = len(fmt.class_message(FULL, sdmf=False))
    assert abs(m.start - first_char) <= 3
    assert abs(m.end - (first_char + n_chars * 10 * bit)) <= 3


def test_uk_alert_before_v23() -> None:
    sig = generate(FULL, "etsi-v23", alert=True)
    _check(decode(_pad(sig)), FULL, "etsi-v23")
    with pytest.raises(UsageError):
        generate(FULL, "bell202-mdmf", alert=True)


@pytest.mark.parametrize("standard", FSK_STANDARDS)
def test_bad_checksum_is_reported_but_never_as_a_number(standard: str) -> None:
    (m,) = decode(_pad(generate(FULL, standard, corrupt=True)))
    assert not m.checksum_ok
    assert m.number is None and m.name is None and m.when is None


def _class_wave(msg: bytes, mark: float, space: float, level: float = -13.0) -> np.ndarray:
    bits = [i & 1 for i in range(300)] + [1] * 180 + uart_bits(msg) + [1] * 10
    return np.round(modulate(bits, mark, space, 1200, level)).astype(np.int16)


@given(order=st.permutations(range(5)), keep=st.lists(st.booleans(), min_size=5,
                                                          max_size=5))
@settings(max_examples=15, deadline=None)
def test_mdmf_parameters_in_any_order_or_missing(order: list, keep: list) -> None:
    params = [(0x01, "11220933"), (0x02, "0287654321"), (0x07, "LIN"), (0x03, "123"),
              (0x11, "\x01")]  # 0x11 (ETSI call type) is unknown to us: skipped
    chosen = [params[i] for i in order if keep[i]]
    body = b"".join(bytes([t, len(v)]) + v.encode() for t, v in chosen)
    msg = bytes([0x80, len(body)]) + body
    msg += bytes([fmt.class_checksum(msg)])
    (m,) = decode(_pad(_class_wave(msg, BELL_MARK_HZ, BELL_SPACE_HZ)))
    got = {0x01: m.when, 0x02: m.number, 0x07: m.name, 0x03: m.dialled}
    for t, v in params[:4]:
        assert got[t] == (v if (t, v) in chosen else None)


def test_v23_and_bell_are_told_apart_by_frequency() -> None:
    msg = fmt.class_message(FULL, sdmf=False)
    (b,) = decode(_pad(_class_wave(msg, BELL_MARK_HZ, BELL_SPACE_HZ)))
    (v,) = decode(_pad(_class_wave(msg, V23_MARK_HZ, V23_SPACE_HZ)))
    assert (b.standard, v.standard) == ("bell202-mdmf", "etsi-v23")


# -- streaming ---------------------------------------------------------------------------

def test_one_sample_feed_equals_whole_buffer() -> None:
    x = np.concatenate([_pad(generate(FULL, s, alert=s == "etsi-v23"))
                        for s in FSK_STANDARDS])
    whole = decode(x)
    assert [m.standard for m in whole] == list(FSK_STANDARDS)
    dec = CallerIdDecoder()
    one = [m for i in range(len(x)) for m in dec.feed(x[i: i + 1])]
    assert one == whole


@given(sizes=st.lists(st.integers(1, 900), min_size=1, max_size=40))
@settings(max_examples=20, deadline=None)
def test_any_block_sizes_give_the_same_messages(sizes: list) -> None:
    x = np.concatenate([_pad(generate(FULL, "bell202-mdmf")),
                        _pad(generate(FULL, "ntt", corrupt=True))])
    dec = CallerIdDecoder()
    got, i, k = [], 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        got += dec.feed(x[i: i + n])
        i, k = i + n, k + 1
    assert got == decode(x)


def test_reset_forgets_a_half_heard_message() -> None:
    sig = _pad(generate(FULL, "bell202-mdmf"))
    cut = decode(sig)[0].start + 400  # six characters into the message
    dec = CallerIdDecoder()
    assert dec.feed(sig[:cut]) == []
    dec.reset()
    assert dec.feed(sig[cut:]) == []
    assert len(dec.feed(sig)) == 1


# -- robustness by the numbers -----------------------------------------------------------

def _line_model(x: np.ndarray, level: float, codec: str, dc: int, rng) -> np.ndarray:
    """Ring-like surroundings, 20 dB SNR white noise, DC offset, G.711 round trip."""
    ring_leak = np.round(3000 * np.sin(2 * np.pi * 25 * np.arange(8000) / RATE))
    sig = np.concatenate((ring_leak, np.zeros(4000), x, np.zeros(4000), ring_leak))
    sig = sig + white_noise(len(sig), level - 20.0, rng) + dc
    sig = np.clip(np.round(sig), -32768, 32767).astype(np.int16)
    if codec == "ulaw":
        sig = ulaw_decode(ulaw_encode(sig))
    elif codec == "alaw":
        sig = alaw_decode(alaw_encode(sig))
    return sig


@given(standard=st.sampled_from(FSK_STANDARDS), level=st.floats(-40.0, -6.0),
       deviation=st.floats(-0.01, 0.01), codec=st.sampled_from(["pcm", "ulaw", "alaw"]),
       dc=st.integers(-2000, 2000), seed=st.integers(0, 2**31))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_decodes_across_levels_noise_codecs_dc_and_drift(
        standard: str, level: float, deviation: float, codec: str, dc: int,
        seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Made at rate r and played at 8 kHz: every frequency and the baud scale by 8000/r.
    sig = generate(FULL, standard, level_dbm0=level, rate=round(RATE / (1 + deviation)))
    _check(decode(_line_model(sig, level, codec, dc, rng)), FULL, standard)


@pytest.mark.parametrize("standard", FSK_STANDARDS)
@pytest.mark.parametrize("level", [-40.0, -6.0])
@pytest.mark.parametrize("deviation", [-0.01, 0.01])
def test_corners_of_the_envelope(standard: str, level: float, deviation: float) -> None:
    rng = np.random.default_rng(7)
    sig = generate(FULL, standard, level_dbm0=level, rate=round(RATE / (1 + deviation)))
    _check(decode(_line_model(sig, level, "ulaw", 1500, rng)), FULL, standard)


def test_noise_and_tones_alone_give_nothing() -> None:
    from firmware.dsp.tones import dtmf, sine_mix

    rng = np.random.default_rng(3)
    parts = [white_noise(8000 * 5, -25.0, rng), sine_mix([350, 440], 2000, -10.0),
             sine_mix([440, 480], 2000, -10.0), dtmf("123456789*0#", dbm0=-8.0),
             white_noise(8000 * 5, -10.0, rng), sine_mix([1300], 500, -10.0),
             sine_mix([2130, 2750], 100, -10.0)]
    assert decode(np.concatenate(parts)) == []


# -- independent signals -----------------------------------------------------------------

def _wav_int16(path: Path) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, rate = sf.read(path, dtype="float64")
    if rate != RATE:
        x = soxr.resample(x, rate, RATE)
    return np.round(x * 32767 * 0.25).astype(np.int16)  # minimodem sends full scale


@pytest.mark.skipif(shutil.which("minimodem") is None, reason="minimodem not installed")
@pytest.mark.parametrize("sdmf", [True, False])
def test_minimodem_bell202_waveform(tmp_path: Path, sdmf: bool) -> None:
    """Seizure, mark and the 8N1 message all transmitted by minimodem (Bell 202 mode)."""
    msg = fmt.class_message(FULL, sdmf=sdmf)

    def tx(data: bytes, name: str, *opts: str) -> Path:
        out = tmp_path / name
        # 48 kHz: minimodem's bit timing is exact there (at 8 kHz it rounds to 7 samples).
        subprocess.run(["minimodem", "--tx", "1200", "-R", "48000", *opts, "-f", str(out)],
                       input=data, check=True, timeout=30)
        return out

    seizure = tx(b"\x55" * 30, "seize.wav")  # 0x55 in 8N1 is 0101010101: 300 bits
    mark = tx(b"\xff", "mark.wav", "--startbits", "0", "--stopbits", "172")  # 180 ones
    message = tx(msg, "msg.wav")
    x = np.concatenate([_wav_int16(p) for p in (seizure, mark, message)])
    _check(decode(_pad(x)), FULL, "bell202-sdmf" if sdmf else "bell202-mdmf")


@pytest.mark.skipif(shutil.which("multimon-ng") is None or shutil.which("sox") is None,
                    reason="multimon-ng or sox not installed")
@pytest.mark.parametrize("standard", ["etsi-v23", "bell202-mdmf"])
def test_multimon_ng_reads_our_generator(tmp_path: Path, standard: str) -> None:
    import soundfile as sf

    wav = tmp_path / "cid.wav"
    sf.write(wav, _pad(generate(FULL, standard)), RATE, subtype="PCM_16")
    out = subprocess.run(["multimon-ng", "-q", "-c", "-a", "CLIPFSK", "-t", "wav", str(wav)],
                         capture_output=True, text=True, timeout=60).stdout
    assert "DATE=03141530" in out and "CID=0223456789" in out
    assert "CNT=WANG XIAO MING" in out


@pytest.fixture(scope="module")
def spandsp_cid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    exe = tmp_path_factory.mktemp("spandsp") / "spandsp_cid"
    built = subprocess.run(["gcc", "-O2", "-o", str(exe),
                            str(REPO / "bench" / "spandsp_cid.c"), "-lspandsp", "-lm"],
                           capture_output=True, timeout=120)
    if built.returncode != 0:
        pytest.skip("libspandsp-dev not installed (the harness does not build)")
    return exe


def _spandsp_tx(exe: Path, *args: str) -> np.ndarray:
    raw = subprocess.run([str(exe), "tx", *args], capture_output=True, check=True,
                         timeout=30).stdout
    return np.frombuffer(raw, dtype=np.int16)


@pytest.mark.parametrize("number", ["0312345678", "03123456789012"])  # 2nd: DLE-doubled
def test_spandsp_jclip_transmitter(spandsp_cid: Path, number: str) -> None:
    (m,) = decode(_pad(_spandsp_tx(spandsp_cid, "jclip", "40", "02", number)))
    assert (m.standard, m.checksum_ok, m.number, m.message_type) == ("ntt", True, number, 0x40)


@pytest.mark.parametrize("std,expect", [("class", "bell202-mdmf"), ("clip", "etsi-v23")])
def test_spandsp_class_and_clip_transmitters(spandsp_cid: Path, std: str,
                                             expect: str) -> None:
    x = _spandsp_tx(spandsp_cid, std, "80", "01", "03141530", "02", "0223456789",
                    "07", "WANG XIAO MING")
    _check(decode(_pad(x)), FULL, expect)


def test_ntt_frame_matches_spandsp_layout() -> None:
    """The frame spandsp's JCLIP receiver hands over for 0312345678 (parity stripped)."""
    frame = fmt.ntt_message(CallerIdInfo(number="0312345678"))
    stripped = bytes(b & 0x7F for b in frame[:-2])
    assert stripped == bytes.fromhex("10 01 07 10 02 40 0c 02 0a 30 33 31 32 33 34 35 36 37 38"
                                     " 10 03")
    assert fmt.crc16_ntt(frame[2:]) == 0  # CRC appended low byte first checks to zero


# -- CLI -----------------------------------------------------------------------------------

def _write(tmp_path: Path, x: np.ndarray, rate: int = RATE, name: str = "cid.wav") -> str:
    import soundfile as sf

    path = tmp_path / name
    sf.write(path, x, rate, subtype="PCM_16")
    return str(path)


def test_cli_prints_each_message(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    x = np.concatenate([_pad(generate(FULL, "bell202-mdmf")),
                        _pad(generate(CallerIdInfo(number_absent="P"), "etsi-v23")),
                        _pad(generate(FULL, "bell202-sdmf", corrupt=True))])
    assert main(["callerid", _write(tmp_path, x)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert "0223456789" in lines[0] and "WANG XIAO MING" in lines[0]
    assert "03-14 15:30" in lines[0] and "bell202-mdmf" in lines[0]
    assert "checksum ok" in lines[0]
    assert "private" in lines[1] and "etsi-v23" in lines[1]
    assert "checksum BAD" in lines[2] and "0223456789" not in lines[2]


def test_cli_json_from_a_44k_stereo_flac(tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    import soxr

    x = _pad(generate(FULL, "etsi-v23", alert=True)).astype(np.float64) / 32768
    up = soxr.resample(x, RATE, 44100)
    path = _write(tmp_path, np.stack([up, up], axis=1), 44100, "cid.flac")
    assert main(["callerid", "--json", path]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    obj = json.loads(line)
    assert {k: obj[k] for k in ("number", "name", "datetime", "number_absent",
                                "name_absent", "standard", "checksum_ok")} == {
        "number": "0223456789", "name": "WANG XIAO MING", "datetime": "03-14 15:30",
        "number_absent": None, "name_absent": None, "standard": "etsi-v23",
        "checksum_ok": True}


def test_cli_nothing_found_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["callerid", _write(tmp_path, np.zeros(8000, np.int16))]) == 1
    assert "no caller ID" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, b"this is not audio\n"])
def test_cli_bad_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                         content: bytes | None) -> None:
    path = tmp_path / "x.wav"
    if content is not None:
        path.write_bytes(content)
    assert main(["callerid", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x.wav" in err


# -- generator argument checks -----------------------------------------------------------

def test_generator_refuses_nonsense() -> None:
    with pytest.raises(UsageError):
        generate(FULL, "bell203")
    with pytest.raises(UsageError):
        generate(CallerIdInfo(number="1", when="3pm"), "bell202-mdmf")
    with pytest.raises(UsageError):
        generate(CallerIdInfo(number="1", number_absent="X"), "bell202-mdmf")
    with pytest.raises(UsageError):
        generate(CallerIdInfo(number="12-34"), "dtmf")


# -- DTMF forms and the FSK layer on its own ---------------------------------------------

@pytest.mark.parametrize("info,form,digits", [
    (CallerIdInfo(number="0223456789"), "DC", "D0223456789C"),
    (CallerIdInfo(number="0223456789"), "AC", "A0223456789C"),
    (CallerIdInfo(number="0223456789"), "A#", "A0223456789#"),
    (CallerIdInfo(number="0223456789"), "#", "0223456789#"),
    (CallerIdInfo(number_absent="O"), "AC", "B00C"),
    (CallerIdInfo(number_absent="P"), "DC", "B10C"),
    (CallerIdInfo(number_absent="P"), "A#", "D1#"),
    (CallerIdInfo(number_absent="O"), "#", "D3#"),
])
def test_dtmf_forms_round_trip_as_digits(info: CallerIdInfo, form: str, digits: str) -> None:
    assert fmt.dtmf_digits(info, form) == digits
    parsed = fmt.parse_dtmf(digits)
    assert (parsed.number, parsed.number_absent) == (info.number, info.number_absent)


def test_dtmf_parse_edge_cases() -> None:
    assert fmt.parse_dtmf("D2#").number_absent == "O"  # international: not available
    assert fmt.parse_dtmf("A123D456C").number == "123"  # D is the redirecting number
    assert fmt.parse_dtmf("A12*3C") is None
    assert fmt.parse_dtmf("123") is None  # no terminator
    assert fmt.parse_dtmf("#") is None


def test_fsk_layer_carries_baudot_like_tty_characters() -> None:
    """The demodulator and framer are not tied to caller ID: 45.45 baud, 5 data bits,
    mark 1400 / space 1800 Hz, 1.5-ish stop bits (TTY/TDD), through noise."""
    from firmware.dsp.fsk import AsyncFramer, FskDemodulator

    chars = [0x1F, 0x01, 0x12, 0x05, 0x1B, 0x00, 0x14]
    bits = [1] * 20 + uart_bits(chars, data_bits=5, stop_bits=2) + [1] * 5
    sig = modulate(bits, 1400, 1800, 45.45, -20.0)
    sig = _pad(np.round(sig).astype(np.int16))
    sig = sig + white_noise(len(sig), -40.0, np.random.default_rng(2))
    # Carrier threshold between the signal (-20) and the noise (-40 dBm0): once the
    # signal stops, the noise must not be framed as more characters.
    demod = FskDemodulator(1400, 1800, 45.45, carrier_dbm0=-30.0)
    framer = AsyncFramer(RATE / 45.45, data_bits=5, min_idle_bits=10)
    got = []
    for i in range(0, len(sig), 160):
        soft, carrier = demod.process(sig[i: i + 160])
        got += framer.feed(soft, carrier)
    assert [c.value for c in got] == chars
    assert got[0].burst_start and not any(c.burst_start for c in got[1:])


# -- DTMF caller ID through the DTMF detector --------------------------------------------

@pytest.mark.parametrize("info", [CallerIdInfo(number="0223456789"),
                                  CallerIdInfo(number_absent="P"),
                                  CallerIdInfo(number_absent="O")])
@pytest.mark.parametrize("form", fmt.DTMF_FORMS)
def test_dtmf_caller_id_round_trip(info: CallerIdInfo, form: str) -> None:
    sig = generate(info, "dtmf", dtmf_form=form, level_dbm0=-15.0)
    (m,) = decode(_pad(sig))
    assert (m.standard, m.checksum_ok, m.number, m.number_absent) == (
        "dtmf", True, info.number, info.number_absent)
    assert abs(m.start - 3200) <= 400 and abs(m.end - (3200 + len(sig))) <= 1200


def test_dtmf_caller_id_through_ulaw_noise_and_streaming() -> None:
    rng = np.random.default_rng(11)
    sig = generate(CallerIdInfo(number="0912345678"), "dtmf", level_dbm0=-20.0)
    x = _line_model(sig, -20.0, "ulaw", 800, rng)
    dec = CallerIdDecoder()
    got = [m for i in range(0, len(x), 160) for m in dec.feed(x[i: i + 160])]
    assert [(m.standard, m.number) for m in got] == [("dtmf", "0912345678")]
    assert got == decode(x)


def test_fsk_and_dtmf_caller_id_on_the_same_recording() -> None:
    x = np.concatenate([_pad(generate(FULL, "etsi-v23", alert=True)),
                        _pad(generate(CallerIdInfo(number="0223456789"), "dtmf")),
                        _pad(generate(FULL, "bell202-sdmf"))])
    assert [m.standard for m in decode(x)] == ["etsi-v23", "dtmf", "bell202-sdmf"]


@pytest.mark.parametrize("args,number,absent", [
    (("43", "41", "0223456789"), "0223456789", None),  # A...C
    (("43", "44", "0223456789"), "0223456789", None),  # D...C (Taiwan)
    (("43", "42", "10"), None, "P"),  # B10C: presentation restricted
    (("23", "41", "0223456789"), "0223456789", None),  # A...#
])
def test_spandsp_dtmf_transmitter(spandsp_cid: Path, args: tuple, number: str | None,
                                  absent: str | None) -> None:
    (m,) = decode(_pad(_spandsp_tx(spandsp_cid, "dtmf", *args)))
    assert (m.standard, m.number, m.number_absent) == ("dtmf", number, absent)
