"""G.711 companding and 8-bit linear audio <-> int16, vectorised and bit-exact.

API:
    ulaw_encode(int16 array) -> uint8 array      ulaw_decode(bytes | uint8 array) -> int16
    alaw_encode(int16 array) -> uint8 array      alaw_decode(bytes | uint8 array) -> int16
    u8_encode(int16 array) -> uint8 array        u8_decode(bytes | uint8 array) -> int16

Voice modems hand us these formats (the USR5637 offers 8-bit unsigned linear and
mu-law); converting at the line's edge keeps everything above it in int16. Encoding
follows ITU-T G.711 exactly as the reference (Sun) implementation does, so a round trip
matches any other conforming codec bit for bit. Decoding is a 256-entry table lookup.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
ByteArray = npt.NDArray[np.uint8]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # in 14-bit units
_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_QUANT_MASK = 0x0F


def _as_int32(samples: npt.ArrayLike) -> npt.NDArray[np.int32]:
    return np.asarray(samples, dtype=np.int16).astype(np.int32)


def _as_bytes(data: bytes | bytearray | memoryview | npt.ArrayLike) -> ByteArray:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return np.frombuffer(data, dtype=np.uint8)
    return np.asarray(data, dtype=np.uint8)


def ulaw_encode(samples: npt.ArrayLike) -> ByteArray:
    x = _as_int32(samples) >> 2  # G.711 mu-law works on 14-bit linear
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude)
    code = np.where(
        segment >= 8,
        0x7F,
        (np.minimum(segment, 7) << 4) | ((magnitude >> (segment + 1)) & _QUANT_MASK),
    )
    return (code ^ mask).astype(np.uint8)


def _ulaw_table() -> Int16Array:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    t = ((code & _QUANT_MASK) << 3) + _ULAW_BIAS
    t <<= (code & 0x70) >> 4
    return np.where(code & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def alaw_encode(samples: npt.ArrayLike) -> ByteArray:
    x = _as_int32(samples) >> 3  # G.711 A-law works on 13-bit linear
    mask = np.where(x >= 0, 0xD5, 0x55)
    magnitude = np.where(x >= 0, x, -x - 1)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude)
    shift = np.where(segment < 2, 1, segment)
    code = np.where(
        segment >= 8,
        0x7F,
        (np.minimum(segment, 7) << 4) | ((magnitude >> shift) & _QUANT_MASK),
    )
    return (code ^ mask).astype(np.uint8)


def _alaw_table() -> Int16Array:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    t = (code & _QUANT_MASK) << 4
    segment = (code & 0x70) >> 4
    t = np.where(segment == 0, t + 8, t + 0x108)
    t = np.where(segment > 1, t << np.maximum(segment - 1, 0), t)
    return np.where(code & 0x80, t, -t).astype(np.int16)


_ULAW_DECODE = _ulaw_table()
_ALAW_DECODE = _alaw_table()


def ulaw_decode(data: bytes | bytearray | memoryview | npt.ArrayLike) -> Int16Array:
    return _ULAW_DECODE[_as_bytes(data)]


def alaw_decode(data: bytes | bytearray | memoryview | npt.ArrayLike) -> Int16Array:
    return _ALAW_DECODE[_as_bytes(data)]


def u8_encode(samples: npt.ArrayLike) -> ByteArray:
    """8-bit unsigned linear (128 = silence), as V.253 modems' format 1 sends it."""
    return ((_as_int32(samples) >> 8) + 128).astype(np.uint8)


def u8_decode(data: bytes | bytearray | memoryview | npt.ArrayLike) -> Int16Array:
    return ((_as_bytes(data).astype(np.int32) - 128) << 8).astype(np.int16)
