"""Checks of the phone line through the Line interface: found, pins, dial tone, levels.

API:
    await check_line(line, kind, country, *, ready_timeout_s=READY_TIMEOUT_S,
                     listen_ms=LISTEN_MS, tone_ms=TEST_TONE_MS) -> list[Check]
        opens `line`, and closes it again (on-hook) whatever happens

What it does, in order: open the line and wait for its LineStatus (the modem answers
its identity and format list, the FXO board's sound card starts, the simulated line is
simply there); read the FXO board's inputs (line voltage, loop current...); go off-hook
for LISTEN_MS and run the call-progress detector on what comes back (a modem's own `DLE
d` report counts too): dial tone means the line is connected and the audio path works
inwards; send TEST_TONE_MS of a 1004 Hz test tone and measure its echo where the backend
is full duplex (the echo through the line's hybrid proves the outward path); hang up.
Everything is counted in line samples, so on the simulated line it takes milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import numpy as np

from firmware.cli.checks import Check, failed, passed, skipped, unknown
from firmware.cli.checks.levels import tone_dbm0
from firmware.dsp.callprogress import CallProgressDetector
from firmware.dsp.level import rms_dbm0
from firmware.dsp.tones import sine_mix
from firmware.errors import LineError
from firmware.line.base import FRAME_MS, LineStatus, Tone, frames_of

READY_TIMEOUT_S = 15.0  # wall clock: a USB modem's reset (ATZ) can take a few seconds
LISTEN_MS = 3000.0  # dial tone is decided after 1.0-1.2 s of steady tone
TEST_TONE_MS = 1000.0
TEST_TONE_HZ = 1004.0  # the classic test-tone frequency (off the 8 kHz sub-multiples)
TEST_TONE_DBM0 = -10.0
DIAL_MIN_DBM0 = -30.0  # quieter dial tone: the audio-in path loses too much
DIAL_MAX_DBM0 = -3.0  # louder: clipping ahead (gain too high)
SILENT_DBM0 = -80.0  # below this the receive path delivers nothing at all
ECHO_MIN_DBM0 = -65.0  # an echo this loud or louder shows the tone went out

NO_LINE_FIX = {
    "modem": "check the modem is plugged in (`ls /dev/ttyACM* /dev/ttyUSB*`), that "
             "line.device names it, and that the engine is stopped while testing "
             "(`sudo systemctl stop ivrbox-engine`)",
    "fxo": "check the sound card is plugged in (`aplay -l`), that line.device names it, "
           "and that the board's pin map matches its wiring (hw/README.md)",
    "sim": "the simulated line should always be there: reinstall ivrbox",
}
NO_DIAL_FIX = ("plug the phone cable into the box's LINE socket (not PHONE), check the "
               "line gives dial tone on an ordinary phone, and that line.country is right")


def _describe(line: Any, kind: str, status: LineStatus) -> str:
    if kind == "modem":
        ident = getattr(line, "identity", {}) or {}
        codec = getattr(line, "codec", None)
        model = ident.get("fmm") or ident.get("ati3") or ident.get("ati0") or "unknown model"
        maker = ident.get("fmi", "")
        fmt = f", audio format {codec.code} {codec.name} ({codec.bits}-bit)" if codec else ""
        return f"voice modem {maker} {model}".replace("  ", " ") + f" on {line.port}{fmt}"
    if kind == "fxo":
        audio = getattr(line, "audio", None)
        board = getattr(line, "board", None)
        name = board.pinmap.board if board is not None else "?"
        rate = getattr(audio, "device_rate", "?")
        return f"FXO board {name}, sound card at {rate} Hz"
    return f"simulated line ({status.detail or 'ready'})"


async def _wait_status(line: Any, timeout_s: float) -> LineStatus | None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return None
        try:
            event = await asyncio.wait_for(line.next_event(), left)
        except asyncio.TimeoutError:
            return None
        if isinstance(event, LineStatus) and event.state in ("ready", "missing", "error"):
            return event


def _pins(line: Any) -> Check:
    name = "GPIO pins"
    board = getattr(line, "board", None)
    if board is None:
        return skipped(name, "not used by this line backend")
    inputs = [n for n in ("line_voltage", "loop_current", "polarity", "extension_sense",
                          "ring_detect", "button") if board.has(n)]
    states = {n: board.is_active(n) for n in inputs}
    shown = ", ".join(f"{n}={'on' if v else 'off'}" for n, v in states.items())
    if board.off_hook:
        return failed(name, f"hook relay is closed while idle ({shown})",
                      "the relay must rest open: check its driver transistor and the "
                      "pull-down on its GPIO (hw/README.md, 'FXO wiring')")
    if states.get("ring_detect"):
        return failed(name, f"ring detector active on an idle line ({shown})",
                      "check the ring opto-coupler's wiring and its pull-up")
    if "line_voltage" in states and not states["line_voltage"]:
        return failed(name, f"no line voltage ({shown})",
                      "connect the phone line to the board's LINE terminals; a working "
                      "line carries about 48 V on-hook")
    board.set_led("power", "on")
    return passed(name, f"{len(inputs)} input(s) read: {shown}; hook relay open")


async def _listen(line: Any, country: str, listen_ms: float) -> tuple[list[str], np.ndarray]:
    detector = CallProgressDetector(country)
    heard: list[str] = []
    frames: list[np.ndarray] = []
    for _ in range(int(listen_ms // FRAME_MS)):
        frame = await line.rx()
        frames.append(np.asarray(frame, dtype=np.int16))
        heard += [e.type for e in detector.feed(frame) if e.end is None]
        heard += [e.kind for e in line.poll_events() if isinstance(e, Tone)]
        if "dial" in heard and len(frames) * FRAME_MS >= listen_ms / 2:
            break
    heard += [e.type for e in detector.flush() if e.type not in heard]
    return heard, np.concatenate(frames) if frames else np.zeros(0, np.int16)


async def _send_tone(line: Any, tone_ms: float) -> np.ndarray:
    """Send the test tone; returns what came back meanwhile (the echo, if any)."""
    back: list[np.ndarray] = []
    for frame in frames_of(sine_mix([TEST_TONE_HZ], tone_ms, TEST_TONE_DBM0)):
        await line.tx(frame)
        back.append(np.asarray(await line.rx(), dtype=np.int16))
    return np.concatenate(back) if back else np.zeros(0, np.int16)


def _audio_checks(line: Any, heard: list[str], audio: np.ndarray,
                  echo: np.ndarray) -> list[Check]:
    out: list[Check] = []
    if "dial" in heard:
        level = max(tone_dbm0(audio, hz) for hz in (350.0, 400.0, 425.0, 440.0, 450.0))
        detail = f"dial tone at {level:.1f} dBm0 per tone"
        if level < DIAL_MIN_DBM0:
            out.append(failed("audio in", detail + " (too quiet)", "check the cable and, "
                              "on the FXO board, the input gain (alsamixer: capture)"))
        elif level > DIAL_MAX_DBM0:
            out.append(failed("audio in", detail + " (too loud: clipping)", "lower the "
                              "capture gain (alsamixer) or the modem's receive gain"))
        else:
            out.append(passed("audio in", detail))
    else:
        level = rms_dbm0(audio)
        if level < SILENT_DBM0:
            out.append(failed("audio in", f"nothing received ({level:.0f} dBm0)",
                              NO_DIAL_FIX))
        else:
            out.append(unknown("audio in", f"{level:.1f} dBm0 received, but no dial tone "
                               "to judge it by"))
    if not getattr(line, "full_duplex", True):
        out.append(passed("audio out", f"{TEST_TONE_MS / 1000:.0f} s test tone accepted by "
                          "the modem (half duplex: its echo cannot be heard)"))
    elif len(echo):
        level = tone_dbm0(echo, TEST_TONE_HZ)
        if level >= ECHO_MIN_DBM0:
            out.append(passed("audio out", f"test tone at {TEST_TONE_DBM0:.0f} dBm0 came "
                              f"back at {level:.1f} dBm0 (echo return loss "
                              f"{TEST_TONE_DBM0 - level:.1f} dB)"))
        else:
            out.append(unknown("audio out", f"test tone sent at {TEST_TONE_DBM0:.0f} dBm0; "
                               "no echo heard, so the outward path is unproven",
                               "make a test call (`ivrbox calibrate`) and listen"))
    return out


async def check_line(line: Any, kind: str, country: str, *,
                     ready_timeout_s: float = READY_TIMEOUT_S, listen_ms: float = LISTEN_MS,
                     tone_ms: float = TEST_TONE_MS) -> list[Check]:
    results: list[Check] = []
    try:
        try:
            await line.open()
        except (LineError, OSError) as exc:
            return [failed("line found", f"{kind}: {exc}", NO_LINE_FIX[kind])]
        status = await _wait_status(line, ready_timeout_s)
        no_voltage = status is not None and "line voltage" in status.detail
        if status is None or (status.state != "ready" and not no_voltage):
            why = status.detail if status is not None else f"no answer in {ready_timeout_s:.0f} s"
            return [failed("line found", f"{kind}: {why}", NO_LINE_FIX[kind])]
        results.append(passed("line found", _describe(line, kind, status)))
        results.append(_pins(line))
        if no_voltage or "no line voltage" in results[-1].detail:
            return results + [failed("dial tone", "not tried: no line voltage", NO_DIAL_FIX)]
        await line.answer()
        try:
            heard, audio = await _listen(line, country, listen_ms)
            echo = await _send_tone(line, tone_ms) if tone_ms > 0 else np.zeros(0, np.int16)
        finally:
            await line.hangup()
        if "dial" in heard:
            results.append(passed("dial tone", "heard after going off-hook; hung up again"))
        else:
            what = ", ".join(sorted(set(heard))) or "nothing"
            results.append(failed("dial tone", f"none in {listen_ms / 1000:.0f} s off-hook "
                                  f"(heard: {what})", NO_DIAL_FIX))
        results += _audio_checks(line, heard, audio, echo)
    except LineError as exc:
        results.append(failed("line", f"{kind}: {exc}", NO_LINE_FIX[kind]))
    finally:
        with contextlib.suppress(Exception):
            await line.close()
    return results
