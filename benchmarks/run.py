"""Run the whole benchmark suite and write a Markdown table and a JSON file.

    python benchmarks/run.py [--seconds 5] [--out benchmarks/results]

Every figure is measured in this one run, side by side with its baseline: a
bare Werkzeug app returning the same JSON from the same server setup. The load
comes from wrk (apt-get install wrk), on loopback, each run bounded in time.
Figures are ratios against the baseline; absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEY = "1003." + "c" * 32 + "." + "d" * 32
CONCURRENCY = (1, 8, 64)

TRIVIAL = 'def handler():\n    return "ok"\n'
CPU = """
def handler():
    total = 0
    for i in range(20000):
        total += i * i % 7
    return total
"""


@dataclass(frozen=True)
class Figure:
    scenario: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    ratio: float | None = None  # rps / baseline rps at the same concurrency


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


@contextmanager
def process(args: list[str], ready: str, cwd: Path | None = None) -> Iterator[str]:
    """Start a server process and yield the first output line containing `ready`."""
    proc = subprocess.Popen(args, cwd=cwd, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    line = ""
    for line in proc.stdout:
        if ready in line or time.monotonic() > deadline:
            break
    try:
        yield line
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def project(folder: Path, extra_config: str = "") -> Path:
    (folder / "functions").mkdir(parents=True)
    (folder / "functions" / "trivial.py").write_text(TRIVIAL)
    (folder / "functions" / "cpu.py").write_text(CPU)
    (folder / "config.yaml").write_text(f"api_keys:\n  - key: {KEY}\n{extra_config}")
    return folder / "config.yaml"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(
    url: str, connections: int, seconds: float, headers: dict[str, str]
) -> dict[str, float]:
    args = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--latency", "--timeout", "10s"]  # fmt: skip
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, url], capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(
        int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "errors": errors,
    }


def measure(name: str, url: str, seconds: float, headers: dict[str, str] | None = None
            ) -> list[Figure]:  # fmt: skip
    figures = []
    wrk(url, 1, 1, headers or {})  # warm up: workers, caches, connections
    for connections in CONCURRENCY:
        result = wrk(url, connections, seconds, headers or {})
        figures.append(Figure(name, connections, **result))  # type: ignore[arg-type]
        print(f"  {name:28} c={connections:<3} {result['rps']:9.1f} req/s  "
              f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms", flush=True)  # fmt: skip
    return figures


def emulator(config: Path, *extra: str) -> Callable[[], Iterator[str]]:
    args = [sys.executable, "-m", "emulator", "serve", "--config", str(config),
            "--port", "0", "--quiet", *extra]  # fmt: skip

    @contextmanager
    def start() -> Iterator[str]:
        with process(args, "/crm/v2/functions/") as line:
            yield re.search(r"(http://127\.0\.0\.1:\d+)", line).group(1)  # type: ignore[union-attr]

    return start  # type: ignore[return-value]


def execute(base: str, name: str) -> str:
    return (
        f"{base}/crm/v2/functions/{name}/actions/execute?auth_type=apikey&zapikey={KEY}"
    )


def run_http(seconds: float, work: Path) -> list[Figure]:
    figures: list[Figure] = []
    port = free_port()
    bare = [sys.executable, str(HERE / "bare_app.py"), str(port)]
    with process(bare, "listening"):
        figures += measure(
            "bare werkzeug (baseline)", f"http://127.0.0.1:{port}/", seconds
        )
    config = project(work / "http")
    with emulator(config)() as base:
        figures += measure("emulator, API key", execute(base, "trivial"), seconds)
        figures += measure(
            "emulator, CPU-heavy function", execute(base, "cpu"), seconds
        )
    return figures


def with_ratios(figures: list[Figure]) -> list[Figure]:
    base = {f.concurrency: f.rps for f in figures if f.scenario.startswith("bare")}
    return [
        Figure(**{**asdict(f), "ratio": round(f.rps / base[f.concurrency], 3)})
        if f.concurrency in base else f
        for f in figures
    ]  # fmt: skip


def markdown(figures: list[Figure], seconds: float) -> str:
    lines = [
        f"Each row: wrk for {seconds:g} s on loopback, same machine, same run. "
        "Ratio: requests/s over the bare Werkzeug app's at the same concurrency.",
        "",
        "| scenario | concurrency | req/s | p50 ms | p99 ms | errors | ratio vs bare |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        lines.append(f"| {f.scenario} | {f.concurrency} | {f.rps:.0f} | {f.p50_ms:.2f} | "
                     f"{f.p99_ms:.2f} | {f.errors} | {ratio} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="length of each wrk run"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        figures = with_ratios(run_http(options.seconds, Path(tmp)))
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "results.json").write_text(
        json.dumps([asdict(f) for f in figures], indent=2)
    )
    table = markdown(figures, options.seconds)
    (options.out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
