"""`ivrbox call --realtime` without a script: be the caller from a terminal.

What the box says plays on the speaker (through sox's `play` or ALSA's `aplay`, fed
raw 8 kHz audio); keys 0-9 * # A-D typed on the keyboard are pressed as DTMF audio on
the simulated line at that moment; `q` hangs up. The line runs in real time, so this
is how an owner or installer hears a flow before a real caller does.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from typing import IO, Any

KEYS = "0123456789*#ABCDabcd"
PLAYERS = (
    ["play", "-q", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", "-"],
    ["aplay", "-q", "-t", "raw", "-f", "S16_LE", "-r", "8000", "-c", "1"],
)


def _player() -> subprocess.Popen[bytes] | None:
    for command in PLAYERS:
        if shutil.which(command[0]):
            return subprocess.Popen(command, stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("ivrbox call: no 'play' (sox) or 'aplay' found: you will not hear the box",
          file=sys.stderr)
    return None


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


async def _live(box: Any, caller_id: str | None) -> int:
    from firmware.cli.call_cmd import Transcript
    from firmware.dsp.callerid import CallerIdInfo
    from firmware.line.sim import SimCaller, SimLine

    settings = box.config.current()
    line = SimLine(country=settings.business.country, realtime=True)
    caller = SimCaller("", caller_id=CallerIdInfo(number=caller_id) if caller_id else None)
    player = _player()
    if player is not None and player.stdin is not None:
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
            if player is not None:
                if player.stdin is not None:
                    player.stdin.close()
                player.wait(timeout=5)
    print(f"call ended: {summary.outcome} ({summary.end_reason})", file=sys.stderr)
    return 0


def live_call(box: Any, caller_id: str | None = None) -> int:
    return asyncio.run(_live(box, caller_id))
