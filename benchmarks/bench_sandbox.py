"""What the sandbox costs, as ratios measured in one run.

    python benchmarks/bench_sandbox.py [--calls 300] [--repeat 5]

1. Per-call cost of running a trivial function: in-process (the baseline), in
   a worker that forks a fresh process per call (`limits.isolation: process`),
   and in a long-lived worker that runs every call itself, each from fresh
   state (`limits.isolation: worker`, the default).
   Two ways for the workers: calls spaced out (the child for the next call is
   already forked, as for interactive use) and back to back (each call also
   waits for the previous call's replacement fork).
2. A loop-heavy function: plain Python, RestrictedPython's guards only, and
   guards plus the statement counter (what the emulator runs).

Absolute numbers depend on the machine; the ratios are the figures to compare.
Nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator import policy, sandbox  # noqa: E402
from emulator.limits import PROCESS, WORKER, Limits  # noqa: E402
from emulator.registry import Script, version_of  # noqa: E402
from emulator.runner import InProcessRunner  # noqa: E402
from emulator.workers import WorkerRunner  # noqa: E402

TRIVIAL = 'def handler(name="Ada"):\n    return "Hello, " + name\n'
LOOPS = """
def handler(n=200000):
    total = 0
    parts = []
    for i in range(n):
        if i % 3 == 0:
            total = total + i
        else:
            total = total - 1
        if i % 100 == 0:
            parts.append(str(i))
    squares = [i * i for i in range(n // 10)]
    counts = {}
    for word in ("a", "b", "a", "c") * 1000:
        counts[word] = counts.get(word, 0) + 1
    return total + len(parts) + len(squares) + counts["a"]
"""
LIMITS = Limits(statements=10**9, timeout_seconds=600)


def script(source: str, name: str = "bench") -> Script:
    display = f"functions/{name}.py"
    compiled = sandbox.compile_script(source, display, "handler")
    return Script(
        name, ROOT / display, display, version_of(source.encode()), source, compiled
    )


def per_call(run: Callable[[], Any], calls: int, gap: float = 0.0) -> float:
    """Median seconds per call."""
    times = []
    for _ in range(calls):
        if gap:
            time.sleep(gap)
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def back_to_back(run: Callable[[], Any], calls: int) -> float:
    """Seconds per call when calls follow each other with no pause."""
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def call_costs(calls: int) -> list[tuple[str, float]]:
    job = script(TRIVIAL)
    in_process = InProcessRunner("handler", lambda name: LIMITS)
    rows = [("in-process (baseline)", per_call(lambda: in_process.run(job, {}), calls))]
    for label, isolation in (
        ("isolation: process (fresh process per call)", PROCESS),
        ("isolation: worker (long-lived worker)", WORKER),
    ):
        rows += worker_costs(label, isolation, job, calls)
    return rows


def worker_costs(
    label: str, isolation: str, job: Script, calls: int
) -> list[tuple[str, float]]:
    runner = WorkerRunner("handler", lambda name: LIMITS, 1, isolation=isolation)
    try:
        runner.run(job, {})  # start-up and code cache

        def call() -> None:
            runner.run(job, {})

        return [
            (f"{label}, spaced calls", per_call(call, calls, 0.01)),
            (f"{label}, back to back", back_to_back(call, calls)),
        ]
    finally:
        runner.close()


def loop_costs(repeat: int) -> list[tuple[str, float]]:
    plain_scope: dict[str, Any] = {}
    exec(compile(LOOPS, "loops.py", "exec"), plain_scope)
    rows = [("plain Python (baseline)", best(plain_scope["handler"], repeat))]
    for label, count in (("guards only", False), ("guards + statement counter", True)):
        compiled = sandbox.compile_script(LOOPS, "loops.py", "handler", count=count)
        assert compiled.code is not None, compiled.problems
        scope = policy.globals_for("loops.py", policy.Capture(LIMITS))
        exec(compiled.code, scope)
        rows.append((f"restricted, {label}", best(scope["handler"], repeat)))
    return rows


def best(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def table(title: str, rows: list[tuple[str, float]], unit: str, scale: float) -> str:
    base = rows[0][1]
    lines = [f"{title}", "", f"| | {unit} | ratio |", "|---|---:|---:|"]
    lines += [
        f"| {label} | {value * scale:.1f} | {value / base:.1f}x |"
        for label, value in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--calls", type=int, default=300, help="calls per way (default 300)"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs of the loop function"
    )
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {sys.platform}; calls={options.calls}, "
          f"repeat={options.repeat}\n")  # fmt: skip
    print(
        table(
            "Per call, trivial function (median)", call_costs(options.calls), "µs", 1e6
        )
    )
    print()
    print(
        table("Loop-heavy function (best run)", loop_costs(options.repeat), "ms", 1e3)
    )


if __name__ == "__main__":
    main()
