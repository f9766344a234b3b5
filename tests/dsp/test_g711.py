"""G.711 and 8-bit linear codecs, exhaustively: against the stdlib `audioop` (the Sun
reference algorithm) and against sox's `-e u-law` / `-e a-law` / `-e unsigned`."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import numpy as np
import pytest

from firmware.dsp import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")  # deprecated in 3.11, gone in 3.13

ALL = np.arange(-32768, 32768, dtype=np.int16)
ALL_BYTES = ALL.astype("<i2").tobytes()
CODES = bytes(range(256))

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")


def _sox(data: bytes, src: list[str], dst: list[str]) -> bytes:
    cmd = ["sox", "-D", "-t", "raw", "-r", "8000", "-c", "1", *src, "-",
           "-t", "raw", *dst, "-"]
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


S16 = ["-e", "signed", "-b", "16", "-L"]


def test_ulaw_encode_matches_audioop_for_every_sample() -> None:
    ref = np.frombuffer(audioop.lin2ulaw(ALL_BYTES, 2), dtype=np.uint8)
    assert np.array_equal(g711.ulaw_encode(ALL), ref)


def test_alaw_encode_matches_audioop_for_every_sample() -> None:
    ref = np.frombuffer(audioop.lin2alaw(ALL_BYTES, 2), dtype=np.uint8)
    assert np.array_equal(g711.alaw_encode(ALL), ref)


def test_decoders_match_audioop_for_every_code() -> None:
    assert np.array_equal(g711.ulaw_decode(CODES),
                          np.frombuffer(audioop.ulaw2lin(CODES, 2), dtype="<i2"))
    assert np.array_equal(g711.alaw_decode(CODES),
                          np.frombuffer(audioop.alaw2lin(CODES, 2), dtype="<i2"))


def test_u8_matches_audioop() -> None:
    ref = np.frombuffer(audioop.bias(audioop.lin2lin(ALL_BYTES, 2, 1), 1, 128), np.uint8)
    assert np.array_equal(g711.u8_encode(ALL), ref)
    back = audioop.lin2lin(audioop.bias(CODES, 1, -128), 1, 2)
    assert np.array_equal(g711.u8_decode(CODES), np.frombuffer(back, dtype="<i2"))


def test_bytes_and_arrays_decode_alike_and_round_trip() -> None:
    codes = np.arange(256, dtype=np.uint8)
    for dec, enc in ((g711.ulaw_decode, g711.ulaw_encode),
                     (g711.alaw_decode, g711.alaw_encode),
                     (g711.u8_decode, g711.u8_encode)):
        assert np.array_equal(dec(CODES), dec(codes))
        assert np.array_equal(dec(enc(dec(codes))), dec(codes))  # decoded levels are fixed points


@needs_sox
@pytest.mark.parametrize("encoding", ["u-law", "a-law"])
def test_sox_decodes_every_code_alike(encoding: str) -> None:
    dec = g711.ulaw_decode if encoding == "u-law" else g711.alaw_decode
    out = _sox(CODES, ["-e", encoding, "-b", "8"], S16)
    assert np.array_equal(np.frombuffer(out, dtype="<i2"), dec(CODES))


@needs_sox
@pytest.mark.parametrize("encoding", ["u-law", "a-law"])
def test_sox_encodes_every_sample_as_the_reference_after_rounding(encoding: str) -> None:
    """sox rounds the 16-bit sample to the codec's 14 (mu-law) / 13 (A-law) bits before
    the reference encoder, which truncates: adding half of the dropped LSBs first makes
    the two agree on every one of the 65536 samples."""
    enc, half = (g711.ulaw_encode, 2) if encoding == "u-law" else (g711.alaw_encode, 4)
    theirs = np.frombuffer(_sox(ALL_BYTES, S16, ["-e", encoding, "-b", "8"]), np.uint8)
    rounded = np.clip(ALL.astype(np.int32) + half, -32768, 32767)
    assert np.array_equal(enc(rounded), theirs)
    assert np.count_nonzero(enc(ALL) != theirs) < len(ALL) // 64  # only near step edges


@needs_sox
def test_sox_unsigned_8_bit_decodes_alike() -> None:
    out = _sox(CODES, ["-e", "unsigned", "-b", "8"], S16)
    assert np.array_equal(np.frombuffer(out, dtype="<i2"), g711.u8_decode(CODES))
