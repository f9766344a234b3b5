"""`ivrbox call --realtime` without a script: be the caller from a terminal.

What the box says plays on the speaker (through sox's `play` or ALSA's `aplay`, fed
raw 8 kHz audio); keys 0-9 * # A-D typed on the keyboard are pressed as DTMF audio on
the simulated line at that moment; `q` hangs up. The line runs in real time, so this
is how an owner or installer hears a flow before a real caller does.

Without a terminal to type in, or without a player that can open a sound device (tried
on 20 ms of silence first), it refuses with the reason rather than run a call nobody
can hear or answer.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from typing import IO, Any

from firmware.errors import UsageError

KEYS = "0123456789*#ABCDabcd"
PLAYERS = (
    ["play", "-q", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", "-"],
    ["aplay", "-q", "-t", "raw", "-f", "S16_LE", "-r", "8000", "-c", "1"],
)


PROBE = bytes(320)  # 20 ms of silence, 8 kHz int16
PROBE_TIMEOUT_S = 10


def _fails(command: list[str]) -> str | None:
    """None if `command` plays the probe; else why not, in the player's own last words."""
    try:
        done = subprocess.run(command, input=PROBE, capture_output=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"'{command[0]}': {exc}"
    if done.returncode == 0:
        return None
    said = [line.strip() for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
    how = f"was killed by signal {-done.returncode}" if done.returncode < 0 else f"exited with status {done.returncode}"
    return f"'{command[0]}' {how}" + (f" ({said[-1]})" if said else "")


def _player() -> subprocess.Popen[bytes]:
    """The first player that can open a sound device, started; UsageError if none can."""
    reasons = []
    for command in PLAYERS:
        if not shutil.which(command[0]):
            continue
        reason = _fails(command)
        if reason is None:
            return subprocess.Popen(command, stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reasons.append(reason)
    if not reasons:
        raise UsageError("--realtime without --script plays the call on a speaker: no 'play' "
                         "(sox) or 'aplay' (alsa-utils) found; install one, or give --script")
    raise UsageError("--realtime without --script plays the call on a speaker, and no sound "
                     f"device could be opened: {'; '.join(reasons)}. Give --script to place "
                     "the call without one")


def check_terminal(stream: IO[str]) -> None:
    if not stream.isatty():
        raise UsageError("--realtime without --script reads the keys you type: its input is "
                         "not a terminal. Give --script to place the call without one")


class _Keyboard:
    """Single key presses from a terminal, without waiting for Enter."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self._saved: Any = None

    def __enter__(self) -> _Keyboard:
        if self.stream.isatty():
            import termios
            import tty

            self._saved = termios.tcgetattr(self.stream)
            tty.setcbreak(self.stream.fileno())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream, termios.TCSADRAIN, self._saved)


async def _live(box: Any, caller_id: Any, player: subprocess.Popen[bytes]) -> int:
    from firmware.cli.call_cmd import Transcript
    from firmware.line.sim import SimCaller, SimLine

    settings = box.config.current()
    line = SimLine(country=settings.business.country, realtime=True)
    caller = SimCaller("", caller_id=caller_id)
    if player.stdin is not None:
        pipe = player.stdin

        def hear(clock: int, frame: Any) -> None:
            try:
                pipe.write(frame.astype("<i2").tobytes())
                pipe.flush()
            except BrokenPipeError:
                pass

        caller.on_heard = hear
    loop = asyncio.get_running_loop()

    def on_key() -> None:
        ch = sys.stdin.read(1)
        if ch in KEYS:
            caller.press_now(ch.upper())
        elif ch in ("q", "Q"):
            caller.hang_up_now()

    engine = box.engine(line, on_event=Transcript(False, sys.stderr), ring_gap_s=30.0)
    print("Calling ivrbox: type keys 0-9 * #, q hangs up.", file=sys.stderr)
    await line.open()
    with _Keyboard(sys.stdin):
        loop.add_reader(sys.stdin.fileno(), on_key)
        try:
            line.incoming(caller)
            summary = await engine.handle_call()
        finally:
            loop.remove_reader(sys.stdin.fileno())
            await line.close()
            if player.stdin is not None:
                player.stdin.close()
            player.wait(timeout=5)
    print(f"call ended: {summary.outcome} ({summary.end_reason})", file=sys.stderr)
    return 0


def live_call(box: Any, caller_id: Any = None) -> int:
    """`caller_id`: the CallerIdInfo the line sends (None: no caller ID)."""
    check_terminal(sys.stdin)
    return asyncio.run(_live(box, caller_id, _player()))
