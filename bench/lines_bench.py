"""CPU and memory of 1, 2 and 4 lines answered at once, in real time (a box's budget).

Run: .venv/bin/python bench/lines_bench.py [--lines 1 2 4] [--message-s 10]

For each count N: one Box with N simulated lines in the config's `lines:`, started as
`ivrbox run` starts them (LineFleet following the config file, SimLine(realtime=True):
each line's audio is paced to the wall clock as a modem's would be). Every line gets a caller at
the same moment, on the shipped default config: the language prompt (no key), the
main menu, "3" for support, its greeting, a message of --message-s seconds ended by "#",
the goodbye. DTMF and call-progress detection run on every frame of every line; the
call log, the crash-safe WAV and the outbox are shared.

Prints per N: line time of the longest call, wall time until every call ended, process CPU in % of one core (all threads) and
per line, RSS at the start and the peak sampled during the calls, and how far each
line's clock fell behind the wall clock (0 = it kept real time; a Pi that cannot keep
up shows here first). Prompts are rendered once before measuring (the TTS cache), as
on a box that has taken calls before.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engine_bench import OPEN_MS, rss_mb, support_greeting_ms  # noqa: E402
from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource, StatusBoard  # noqa: E402
from firmware.cli.lines_fleet import LineFleet  # noqa: E402
from firmware.dsp.callerid import CallerIdInfo  # noqa: E402
from firmware.dsp.tones import sine_mix  # noqa: E402
from firmware.line.base import samples_to_ms  # noqa: E402
from firmware.line.sim import Press, SimCaller, SimLine, Speak, Wait  # noqa: E402

BEEP_MS = 400.0
RSS_SAMPLE_S = 0.5  # how often the peak RSS is sampled while the calls run
GUARD_S = 300.0  # a scenario that has not finished by then is reported as stuck


def caller(n: int, greeting_ms: float, message_s: float) -> SimCaller:
    """Waits out the prompts by the clock (as engine_bench: times the engine, not the
    sim's beep listener)."""
    message = sine_mix([180, 360, 540, 900], message_s * 1000, [-18, -22, -26, -30])
    script = [Wait(4000), Press("3"), Wait(greeting_ms + BEEP_MS + 300),
              Speak(message, "message"), Press("#"), Wait(8000)]
    return SimCaller(script, caller_id=CallerIdInfo(number=f"0912{n:06d}"))


class EndsBoard(StatusBoard):
    """The real status file, plus when each line's call ended (wall, line clock)."""

    def __init__(self, root: Path, count: int):
        super().__init__(root)
        self.count = count
        self.lines: dict[str, SimLine] = {}  # filled once the fleet built them
        self.ended: dict[str, tuple[float, int]] = {}
        self.done = asyncio.Event()

    def event_sink(self, line: str):  # type: ignore[no-untyped-def]
        sink = super().event_sink(line)

        def on_event(kind: str, detail: dict) -> None:  # type: ignore[type-arg]
            sink(kind, detail)
            if kind == "call_end":
                self.ended[line] = (time.perf_counter(), self.lines[line].clock)
                if len(self.ended) == self.count:
                    self.done.set()

        return on_event


def make_box(tmp: Path, lines: int) -> Box:
    data = tmp / f"data{lines}"
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config["line"].pop("backend", None)
    config["line"].pop("device", None)
    config["lines"] = [{"name": f"line{i + 1}"} for i in range(lines)]
    path = data / "config" / "current.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    box = Box(data, ConfigSource(path, fallback=None), now_ms=lambda: OPEN_MS)
    box.store.db.now_ms = lambda: OPEN_MS
    return box


async def warm_up(box: Box, greeting_ms: float, message_s: float) -> None:
    """One fast call renders every prompt of the path into the TTS cache."""
    line = SimLine(country=box.config.current().business.country)
    await line.open()
    engine = box.engine(line, line_name="warm-up", ring_gap_s=30.0)
    line.incoming(caller(0, greeting_ms, message_s))
    await engine.handle_call()
    await line.close()


async def scenario(box: Box, count: int, message_s: float) -> dict[str, float]:
    greeting_ms = support_greeting_ms(box)
    await warm_up(box, greeting_ms, message_s)
    status = EndsBoard(box.store.data.root, count)
    fleet = LineFleet(box, status, realtime_sim=True, engine_options={"ring_gap_s": 30.0})
    task = asyncio.create_task(fleet.run())
    names = [f"line{i + 1}" for i in range(count)]
    async with asyncio.timeout(GUARD_S):
        while not all((r := fleet.runner(n)) is not None and r.opened for n in names):
            await asyncio.sleep(0.05)  # the fleet starts the lines; each opens its own
    runners = [fleet.runner(n) for n in names]
    status.lines = {r.name: r.line for r in runners}  # type: ignore[union-attr]
    rss_start = rss_mb()
    peak = rss_mb(trim=False)
    clocks = [r.line.clock for r in runners]  # type: ignore[union-attr]
    t0, cpu0 = time.perf_counter(), time.process_time()
    for i, r in enumerate(runners):
        r.line.incoming(caller(i + 1, greeting_ms, message_s))  # type: ignore[union-attr]
    async with asyncio.timeout(GUARD_S):
        while not status.done.is_set():
            try:
                await asyncio.wait_for(status.done.wait(), RSS_SAMPLE_S)
            except TimeoutError:
                pass
            peak = max(peak, rss_mb(trim=False))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    ended = status.ended
    # behind real time: wall time the call took minus the line time it carried
    lags = [(ended[n][0] - t0) - samples_to_ms(ended[n][1] - c) / 1000 for n, c in zip(names, clocks)]
    line_s = [samples_to_ms(ended[n][1] - c) / 1000 for n, c in zip(names, clocks)]
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    outcomes = [c.outcome for c in box.store.calls.recent(limit=count)]
    assert outcomes.count("voicemail") == count, outcomes
    return {"wall": wall, "cpu": cpu, "rss_start": rss_start, "peak": peak,
            "lag": max(lags), "line_s": max(line_s)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--message-s", type=float, default=10.0)
    args = parser.parse_args()
    print(f"real-time simulated lines, one caller each at once: menu, '3', greeting, "
          f"{args.message_s:.0f} s message, goodbye")
    print(f"{'lines':>5} {'call s':>7} {'wall s':>7} {'CPU % core':>10} {'per line':>9} {'RSS start MB':>12} "
          f"{'RSS peak MB':>11} {'behind real time':>16}")
    with tempfile.TemporaryDirectory(prefix="ivrbox-lines-") as tmp:
        for count in args.lines:
            box = make_box(Path(tmp), count)
            try:
                r = asyncio.run(scenario(box, count, args.message_s))
            finally:
                box.close()
            pct = 100 * r["cpu"] / r["wall"]
            print(f"{count:>5} {r['line_s']:>7.1f} {r['wall']:>7.1f} {pct:>10.1f} {pct / count:>9.1f} "
                  f"{r['rss_start']:>12.1f} {r['peak']:>11.1f} {max(0.0, r['lag']) * 1000:>13.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
