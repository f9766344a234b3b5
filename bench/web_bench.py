"""p95 response time of each page of the owner's web page, with a year-sized database
(10,000 calls, 500 messages), and the resident memory of the process serving it.

    .venv/bin/python bench/web_bench.py [--requests 40]

Runs the app in-process through Starlette's TestClient (no network), logged in, and
prints one line per page: p50 and p95 in ms. RSS is read from /proc/self/status after
the run (the same process holds the app, as `ivrbox web` does).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from firmware.web import create_app  # noqa: E402
from tests.web.conftest import do_setup, make_services  # noqa: E402

PAGES = ["/", "/voicemail", "/calls", "/calls?outcome=voicemail", "/calls?caller=0912",
         "/calls.csv", "/callbacks", "/greetings", "/settings", "/api/status", "/api/calls"]
OUTCOMES = ["voicemail", "forwarded", "handled_in_menu", "hung_up", "missed"]
YEAR_MS = 365 * 86_400_000


def fill(services, calls: int, messages: int) -> None:
    store = services.store
    now = services.clock_ms()
    rng = random.Random(1)
    with store.db.write() as con:
        for i in range(calls):
            started = now - rng.randrange(YEAR_MS)
            cur = con.execute(
                "INSERT INTO calls (line, caller_number, started_ms, answered_ms, ended_ms, outcome,"
                " duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ("line1", f"09{rng.randrange(10**8):08d}", started, started + 8000, started + 60000,
                 rng.choice(OUTCOMES), 52000))
            for t, node, kind in ((0, "welcome", "language"), (3000, "main_menu", "menu"),
                                  (9000, "general_voicemail", "voicemail")):
                con.execute("INSERT INTO call_events (call_id, t_ms, kind, node, detail) VALUES (?, ?, 'node', ?, ?)",
                            (cur.lastrowid, t, node, f'{{"type": "{kind}"}}'))
    wav = store.data.voicemail / "general"
    wav.mkdir(parents=True, exist_ok=True)
    from firmware.dsp.audiofile import write_wav

    sample = wav / "sample.wav"
    write_wav(sample, np.zeros(8000 * 20, dtype=np.int16))
    for i in range(messages):
        store.messages.add(rng.choice(["general", "support"]), received_ms=now - rng.randrange(YEAR_MS),
                           duration_ms=20000, path=store.data.relative(sample),
                           caller_number=f"09{rng.randrange(10**8):08d}")
    for i in range(50):
        store.callbacks.request(f"09{i:08d}", at_ms=now - i * 3_600_000)


def rss_mb() -> float:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        services = make_services(Path(tmp) / "data")
        fill(services, args.calls, args.messages)
        client = TestClient(create_app(services), base_url="http://ivrbox.local")
        do_setup(client)
        print(f"{args.calls} calls, {args.messages} messages; {args.requests} requests per page")
        print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8}")
        for page in PAGES:
            client.get(page)  # warm caches (templates, TTS is not touched by these pages)
            times = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                r = client.get(page)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (page, r.status_code)
            times.sort()
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            print(f"{page:32} {statistics.median(times):8.1f} {p95:8.1f}")
        print(f"RSS of the process serving the page: {rss_mb():.0f} MB")
        services.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
