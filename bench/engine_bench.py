"""Call engine throughput, memory and barge-in latency on the fast simulated line.

Run: .venv/bin/python bench/engine_bench.py [--calls 1000] [--barge 200] [--trace 50]

A typical call on the shipped default config, placed back to back on one engine and one
SimLine (as a running box takes them): caller ID, two rings, the language prompt (no
key), the main menu, "3" for support, the greeting, 10 s of message ended by "#", the
goodbye. Everything a real call does happens: DTMF and call-progress detection on every
frame, the call log in SQLite, the crash-safe WAV, the outbox job.
Prints:
  - calls per second and line-time speed-up (call audio seconds per wall second);
  - engine memory at call 100, 500, every 1000 and the last: RSS (and after malloc_trim),
    glibc's heap in use and SQLite's own allocations (its page cache fills up to
    `cache_size` as the database grows, then stays); the SimLine's own history of
    callers, `exchange.calls`, is cleared after each call (it keeps every caller's heard
    audio by design, for tests);
  - Python-heap growth per call: `--trace` more calls with tracemalloc on (off during the
    timed calls: it costs ~2x CPU), what they allocate and keep, per call, in each half
    (a leak keeps its rate; what tracing's start makes look like growth fades);
  - a verdict line: growth per call of the Python heap (second half) and of RSS past call 500 less
    SQLite's page cache, against LEAK_BYTES_PER_CALL;
  - barge-in latency: for `--barge` calls, a key pressed at a different moment of the
    main menu; how long the caller kept hearing the prompt after the key's onset
    (median, p95, max ms), measured on the audio the caller heard.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import datetime as dt
import gc
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource  # noqa: E402
from firmware.dsp.callerid import CallerIdInfo  # noqa: E402
from firmware.dsp.tones import sine_mix  # noqa: E402
from firmware.line.base import ms_to_samples, samples_to_ms  # noqa: E402
from firmware.line.sim import Press, SimCaller, SimLine, Speak, Wait  # noqa: E402
from firmware.settings import load  # noqa: E402
from tests.ivr.barge import heard_prompt_until  # noqa: E402

TAIPEI = dt.timezone(dt.timedelta(hours=8))
OPEN_MS = int(dt.datetime(2026, 11, 24, 10, 0, tzinfo=TAIPEI).timestamp() * 1000)
MESSAGE_S = 10.0
BEEP_MS = 400.0
LEAK_BYTES_PER_CALL = 1024  # more than this per call, for ever, is a leak (1 GB in 1M calls)
TRACE_SETTLE_CALLS = 10  # traced calls before the first tracemalloc reading


def rss_mb(trim: bool = True) -> float:
    """Current resident set size (Linux /proc), in MB; first hands freed heap back to
    the OS (glibc malloc_trim), so fragmentation is not mistaken for a leak."""
    if trim:
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def heap_in_use_mb() -> float | None:
    """glibc's allocated bytes (mallinfo2), which RSS cannot tell from freed-but-kept."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return None
    return (info.uordblks + info.hblkhd) / 1e6


def sqlite_memory_mb() -> float | None:
    """SQLite's own allocations (page caches of every connection, schema, statements)."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return lib.sqlite3_memory_used() / 1e6
    except (OSError, AttributeError):  # Python linked SQLite statically: not visible
        return None


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} MB"


def checkpoints(calls: int) -> list[int]:
    return sorted({n for n in (100, 500, *range(1000, calls + 1, 1000), calls) if n <= calls})


def message_audio() -> np.ndarray:
    return sine_mix([180, 360, 540, 900], MESSAGE_S * 1000, [-18, -22, -26, -30])


def typical_caller(message: np.ndarray, n: int, greeting_ms: float) -> SimCaller:
    """Waits out the greeting by the clock: the sim's "waitbeep" listens with an FFT on
    every frame, which would time the simulated caller rather than the engine."""
    script = [Wait(4000), Press("3"), Wait(greeting_ms + BEEP_MS + 300),
              Speak(message, "message"), Press("#"), Wait(8000)]
    return SimCaller(script, caller_id=CallerIdInfo(number=f"0912{n:06d}"))


def support_greeting_ms(box: Box) -> float:
    settings = box.config.current()
    lang = settings.business.default_language
    text = settings.prompts["support_greeting"].text(lang) or ""
    return samples_to_ms(len(box.prompts.render(text, lang)))


def throughput(box: Box, calls: int, trace: int) -> None:
    message = message_audio()
    settings = box.config.current()
    greeting_ms = support_greeting_ms(box)

    async def scenario() -> None:
        line = SimLine(country=settings.business.country)
        await line.open()
        engine = box.engine(line, ring_gap_s=30.0)

        async def one_call(n: int) -> None:
            line.incoming(typical_caller(message, n, greeting_ms))
            summary = await engine.handle_call()
            assert summary is not None and summary.outcome == "voicemail", summary
            line.exchange.calls.clear()  # the simulated exchange's history, not the engine's

        await one_call(0)  # warm-up: renders and caches every prompt of the path
        marks = checkpoints(calls)
        memory: dict[int, tuple[float, float, float | None, float | None]] = {}
        start_clock, t0, cpu0 = line.clock, time.perf_counter(), time.process_time()
        for n in range(1, calls + 1):
            await one_call(n)
            if n in marks:
                memory[n] = (rss_mb(trim=False), rss_mb(), heap_in_use_mb(), sqlite_memory_mb())
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        line_s = samples_to_ms(line.clock - start_clock) / 1000
        traced: list[float] = []  # bytes kept per call, in each half of the traced calls
        if trace > 1:
            # Blocks allocated before tracing starts are not counted when freed, so what
            # the first calls replace (caches, freelists) looks like growth: settle first,
            # then compare two halves; a leak keeps the same rate in both.
            tracemalloc.start(1)
            n = calls
            for n in range(n + 1, n + 1 + TRACE_SETTLE_CALLS):
                await one_call(n)
            half = trace // 2
            for _ in range(2):
                gc.collect()
                first = tracemalloc.get_traced_memory()[0]
                for n in range(n + 1, n + 1 + half):
                    await one_call(n)
                gc.collect()
                traced.append((tracemalloc.get_traced_memory()[0] - first) / half)
            tracemalloc.stop()
        await line.close()
        print(f"calls: {calls} typical calls (menu, choice, {MESSAGE_S:.0f} s voicemail) "
              f"in {wall:.1f} s wall")
        print(f"  {calls / wall:.1f} calls/s; {line_s / calls:.1f} s of line time per call; "
              f"{line_s / wall:.0f}x real time")
        print(f"  CPU {1000 * cpu / calls:.0f} ms per call ({calls / cpu:.1f} calls per CPU second;"
              f" the rest of the wall time is fsync of the crash-safe WAV and sharing the CPU)")
        cache_kib = -int(box.store.db.query_one("PRAGMA cache_size")[0])  # type: ignore[index]
        print(f"  engine memory (SQLite page cache capped at {cache_kib} KiB a connection):")
        for n, (raw, trimmed, heap, lite) in memory.items():
            print(f"    after {n:5d} calls: RSS {raw:.1f} MB, after malloc_trim {trimmed:.1f} MB; "
                  f"heap in use {_mb(heap)}; SQLite {_mb(lite)}")
        verdict(memory, traced, trace)

    asyncio.run(scenario())


def verdict(memory: dict[int, tuple[float, float, float | None, float | None]],
            traced: list[float], traced_calls: int) -> None:
    """One line a reader can act on: is anything growing per call, for ever?"""
    growth = []
    if traced:
        print(f"  Python heap (tracemalloc, {traced_calls} more calls after {TRACE_SETTLE_CALLS}): "
              f"{traced[0]:+.0f} bytes kept per call in the first half, {traced[1]:+.0f} in the second")
        growth.append(("Python heap", traced[1]))
    marks = sorted(memory)
    if len(marks) >= 2 and marks[-1] > 500 and 500 in memory:
        span = marks[-1] - 500
        rss = (memory[marks[-1]][1] - memory[500][1]) * 1e6
        lite_end, lite_500 = memory[marks[-1]][3], memory[500][3]
        lite = (lite_end - lite_500) * 1e6 if lite_end is not None and lite_500 is not None else 0.0
        print(f"  calls 500->{marks[-1]}: RSS (trimmed) {rss / span:+.0f} bytes per call, of "
              f"which SQLite's page cache {lite / span:+.0f} (bounded by cache_size)")
        growth.append(("RSS less SQLite cache", (rss - lite) / span))
    leaking = [f"{name} {value:+.0f} B/call" for name, value in growth
               if value > LEAK_BYTES_PER_CALL]
    if not growth:
        print("  verdict: not measured (run --calls 1000 or more, --trace 50)")
    elif leaking:
        print(f"  verdict: LEAK: {', '.join(leaking)} (limit {LEAK_BYTES_PER_CALL} B/call)")
    else:
        print(f"  verdict: no growth per call beyond {LEAK_BYTES_PER_CALL} B "
              f"({', '.join(f'{name} {value:+.0f} B/call' for name, value in growth)})")


def barge_in(box: Box, count: int) -> None:
    settings = box.config.current()
    prompts = box.prompts
    main = settings.prompts["main_menu"]
    # the caller presses 9 (English) at once, then a key somewhere inside the menu prompt
    audio = prompts.render(main.text("en"), "en")
    prompt_ms = samples_to_ms(len(audio))
    rng = np.random.default_rng(7)
    latencies: list[float] = []

    async def scenario() -> None:
        line = SimLine(country=settings.business.country)
        await line.open()
        engine = box.engine(line, ring_gap_s=30.0)
        for i in range(count):
            press_ms = float(rng.uniform(200, prompt_ms - 1200))  # inside the menu prompt
            caller = SimCaller([Wait(500), Press("9"), Wait(700), Wait(press_ms), Press("1"),
                                Wait(1500)], caller_id=CallerIdInfo(number=f"0933{i:06d}"))
            line.incoming(caller)
            await engine.handle_call()
            line.exchange.calls.clear()
            # the key's onset: the caller's script clock (connected + waits + first press)
            onset = caller.connected_at + ms_to_samples(500 + 200 + 700 + press_ms)
            latencies.append(samples_to_ms(heard_prompt_until(caller, audio) - onset))
        await line.close()

    asyncio.run(scenario())
    lat = np.array(latencies)
    print(f"barge-in: {count} calls, key at a random point of the {prompt_ms / 1000:.1f} s menu")
    print(f"  prompt heard after the key's onset: median {statistics.median(lat):.1f} ms, "
          f"p95 {np.percentile(lat, 95):.1f} ms, max {lat.max():.1f} ms (limit 60 ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--barge", type=int, default=200)
    parser.add_argument("--trace", type=int, default=50,
                        help="calls traced by tracemalloc after the timed ones (0: none)")
    args = parser.parse_args()
    load(DEFAULT_CONFIG)
    with tempfile.TemporaryDirectory(prefix="ivrbox-bench-") as tmp:
        data = Path(tmp) / "data"
        box = Box(data, ConfigSource(data / "config" / "current.yaml", fallback=DEFAULT_CONFIG),
                  now_ms=lambda: OPEN_MS)
        box.store.db.now_ms = lambda: OPEN_MS
        try:
            throughput(box, args.calls, args.trace)
            if args.barge > 0:
                barge_in(box, args.barge)
        finally:
            box.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
