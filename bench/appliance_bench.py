"""Appliance figures: start-up to "ready", memory (RSS) idle and in a call, idle CPU.

    .venv/bin/python bench/appliance_bench.py [--idle-s 30] [--call-s 20]

What runs (each in a fresh temp data dir, the simulated line paced to the wall clock,
as `make run` does):
  1. `ivrbox run --line sim --web 127.0.0.1:PORT -v` (engine + page in one process):
     seconds from exec to the log line "ready", RSS once ready, CPU over --idle-s.
  2. `ivrbox engine --line sim -v` (what ivrbox-engine.service runs): the same figures
     for the engine alone.
  3. `ivrbox web --listen 127.0.0.1:PORT` (what ivrbox-web.service runs): ready = the
     port accepts a connection; RSS and idle CPU the same way.
  4. `ivrbox call --realtime --script ...`: a simulated call through the engine in its own
     process, paced to the wall clock; peak RSS and CPU while the call runs.
CPU is user+system time of the process (and children) over wall time, in % of one core.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
IVRBOX = REPO / ".venv" / "bin" / "ivrbox"
READY_TIMEOUT_S = 120.0
SAMPLE_S = 0.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(proc: psutil.Process) -> float:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def until_ready(popen: subprocess.Popen[str]) -> float:
    """Seconds from now until the process logs 'ready' (stderr), or raise."""
    start = time.monotonic()
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert popen.stderr is not None
        for line in popen.stderr:
            lines.append(line)
            if " ready" in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(READY_TIMEOUT_S):
        popen.kill()
        raise SystemExit("no 'ready' line:\n" + "".join(lines[-20:]))
    return time.monotonic() - start


def until_port(popen: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and popen.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    popen.kill()
    raise SystemExit(f"nothing listens on port {port}")


def service(args: list[str], idle_s: float, port: int | None = None) -> dict[str, float]:
    data = Path(tempfile.mkdtemp(prefix="ivrbox-bench-"))
    (data / "config").mkdir()
    shutil.copy(REPO / "config" / "default.yaml", data / "config" / "current.yaml")
    started = time.monotonic()
    extra = [] if port is not None else ["--line", "sim", "-v"]
    popen = subprocess.Popen([str(IVRBOX), *args, "--data", str(data), *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if port is None:
            until_ready(popen)
        else:
            until_port(popen, port)
        ready_s = time.monotonic() - started
        proc = psutil.Process(popen.pid)
        time.sleep(1.0)  # let start-up work settle before measuring idle
        rss_ready = rss_mb(proc)
        cpu0, t0 = cpu_s(proc), time.monotonic()
        time.sleep(idle_s)
        idle_cpu = 100.0 * (cpu_s(proc) - cpu0) / (time.monotonic() - t0)
        return {"ready_s": ready_s, "rss_mb": rss_ready, "idle_cpu_pct": idle_cpu,
                "rss_after_idle_mb": rss_mb(proc)}
    finally:
        popen.terminate()
        try:
            popen.wait(15)
        except subprocess.TimeoutExpired:
            popen.kill()
        shutil.rmtree(data, ignore_errors=True)


def call(call_s: float) -> dict[str, float]:
    data = Path(tempfile.mkdtemp(prefix="ivrbox-bench-call-"))
    script = f"wait 1; press 2; wait {call_s:.0f}; hangup"
    popen = subprocess.Popen([str(IVRBOX), "call", "--realtime", "--data", str(data),
                              "--config", str(REPO / "config" / "default.yaml"),
                              "--script", script],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = psutil.Process(popen.pid)
    peak, t0 = 0.0, time.monotonic()
    cpu_last = 0.0
    while popen.poll() is None:
        try:
            peak = max(peak, rss_mb(proc))
            cpu_last = cpu_s(proc)
        except psutil.NoSuchProcess:
            break
        time.sleep(SAMPLE_S)
    wall = time.monotonic() - t0
    shutil.rmtree(data, ignore_errors=True)
    return {"call_wall_s": wall, "peak_rss_mb": peak, "cpu_pct": 100.0 * cpu_last / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--call-s", type=float, default=20.0)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {psutil.cpu_count()} CPU(s), "
          f"idle window {args.idle_s:.0f} s")
    port = free_port()
    both = service(["run", "--web", f"127.0.0.1:{port}"], args.idle_s)
    engine = service(["engine"], args.idle_s)
    web_port = free_port()
    web = service(["web", "--listen", f"127.0.0.1:{web_port}"], args.idle_s, port=web_port)
    during = call(args.call_s)
    print(f"ivrbox run (engine + page): ready after {both['ready_s']:.2f} s, "
          f"RSS {both['rss_mb']:.1f} MB idle, idle CPU {both['idle_cpu_pct']:.2f} %")
    print(f"ivrbox engine (alone):      ready after {engine['ready_s']:.2f} s, "
          f"RSS {engine['rss_mb']:.1f} MB idle, idle CPU {engine['idle_cpu_pct']:.2f} %")
    print(f"ivrbox web (alone):         ready after {web['ready_s']:.2f} s, "
          f"RSS {web['rss_mb']:.1f} MB idle, idle CPU {web['idle_cpu_pct']:.2f} %")
    print(f"simulated call ({during['call_wall_s']:.1f} s, realtime, own process): "
          f"peak RSS {during['peak_rss_mb']:.1f} MB, CPU {during['cpu_pct']:.1f} % "
          "(includes start-up and prompt rendering)")


if __name__ == "__main__":
    main()
