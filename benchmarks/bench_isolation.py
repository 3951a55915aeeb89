"""The trivial API-key call in both isolation modes, against the bare app, in one run.

    python benchmarks/bench_isolation.py [--seconds 3] [--out benchmarks/results]

The same measurement as benchmarks/run.py (wrk on loopback, the bare Werkzeug
app as the baseline, concurrency 1, 8 and 64), once with
`limits.isolation: worker` (the default) and once with `limits.isolation:
process`, so the two modes are compared side by side on the same machine
state. Ratios are the figures; absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402
from run import (  # noqa: E402
    Figure,
    emulator,
    execute,
    free_port,
    markdown,
    measure,
    process,
    project,
    with_ratios,
)

MODES = ("worker", "process")


def wrk(
    url: str, connections: int, seconds: float, headers: dict[str, str]
) -> dict[str, float]:
    """run.wrk, reading percentiles at the start of their own lines: run.wrk's
    pattern also matches '50%' at the end of a '+/- Stdev' column such as
    '82.50%' and then fails to parse the next word."""
    args = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}",
            f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]  # fmt: skip
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, url], capture_output=True, text=True, timeout=seconds + 30
    ).stdout

    def figure(pattern: str) -> str:
        found = re.search(pattern, out, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"wrk printed no '{pattern}':\n{out}")
        return found.group(1)

    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(
        int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)
    )
    return {
        "rps": float(figure(r"^Requests/sec:\s+([\d.]+)")),
        "p50_ms": run._ms(figure(r"^\s+50%\s+(\S+)")),
        "p99_ms": run._ms(figure(r"^\s+99%\s+(\S+)")),
        "errors": errors,
    }


def run_modes(seconds: float, work: Path) -> list[Figure]:
    figures: list[Figure] = []
    port = free_port()
    bare = [sys.executable, str(HERE / "bare_app.py"), str(port)]
    with process(bare, "listening"):
        figures += measure(
            "bare werkzeug (baseline)", f"http://127.0.0.1:{port}/", seconds
        )
    for mode in MODES:
        config = project(work / mode, f"limits:\n  isolation: {mode}\n")
        with emulator(config)() as base:
            figures += measure(
                f"emulator, API key, isolation: {mode}",
                execute(base, "trivial"),
                seconds,
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="length of each wrk run"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    run.wrk = wrk  # measure() calls it
    with tempfile.TemporaryDirectory() as tmp:
        figures = with_ratios(run_modes(options.seconds, Path(tmp)))
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "isolation.json").write_text(
        json.dumps([asdict(f) for f in figures], indent=2)
    )
    table = markdown(figures, options.seconds)
    (options.out / "isolation.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
