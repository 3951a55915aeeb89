"""Server CPU per request: the bare app, the floors and the emulator, under wrk.

    python benchmarks/bench_cpu.py [--seconds 3]

Throughput on a shared machine moves with whatever else runs; the CPU time
the server process spends per request moves much less, and it is what bounds
throughput once the server's interpreter lock is saturated (concurrency 8
and up). For each server: wrk at concurrency 1 and 8, then the CPU time
(user + system, from /proc, so Linux only) of the server process and of its
children (the workers of the emulator and of the sandbox floor, the pipe
floor's helper) over the requests answered. Same servers as benchmarks/run.py: the bare Werkzeug app, the two
floors (bare app + one pipe round trip to an idle helper process; bare app +
the trivial function run in the emulator's sandboxed workers), the emulator
serving a trivial function with an API key (`--quiet --no-watch`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
import run  # noqa: E402 - a sibling script, importable once HERE is on the path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def measure(name: str, url: str, pid: int, seconds: float) -> None:
    run.wrk(url, 1, 1, {})  # warm up
    for connections in (1, 8):
        pids = [pid, *children(pid)]
        before = {p: cpu_seconds(p) for p in pids}
        result = run.wrk(url, connections, seconds, {})
        used = {p: cpu_seconds(p) - before[p] for p in pids}
        requests = result["rps"] * max(1, round(seconds))
        server = used[pid] / requests * 1e6
        helpers = sum(used[p] for p in pids[1:]) / requests * 1e6
        print(f"{name:40} c={connections:<2} {result['rps']:7.0f} req/s   server "
              f"{server:5.0f} µs/request   children {helpers:4.0f} µs/request",
              flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    seconds = parser.parse_args().seconds
    floors = ((run.FLOOR, ("--round-trip",)), (run.SANDBOX_FLOOR, ("--worker",)))
    for label, extra in ((run.BASELINE, ()), *floors):
        port = run.free_port()
        args = [sys.executable, str(HERE / "bare_app.py"), str(port), "1", *extra]
        with run.process(args, "listening") as (_, pid):
            time.sleep(0.3)
            measure(label, f"http://127.0.0.1:{port}/", pid, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        config = run.project(Path(tmp) / "cpu")
        args = [sys.executable, "-m", "emulator", "serve", "--config", str(config),
                "--port", "0", "--quiet", "--no-watch"]  # fmt: skip
        with run.process(args, "/crm/v2/functions/") as (line, pid):
            base = re.search(r"(http://127\.0\.0\.1:\d+)", line).group(1)  # type: ignore[union-attr]
            time.sleep(0.5)
            measure("emulator, API key", run.execute(base, "trivial"), pid, seconds)


if __name__ == "__main__":
    main()
