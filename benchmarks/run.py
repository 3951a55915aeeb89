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
import statistics
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
sys.path[:0] = [str(HERE), str(ROOT)]
import bench_reload  # noqa: E402 - a sibling script, importable once HERE is on the path

KEY = "1003." + "c" * 32 + "." + "d" * 32
CONCURRENCY = (1, 8, 64)
BASELINE = "bare werkzeug"

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
def process(
    args: list[str], ready: str, cwd: Path | None = None
) -> Iterator[tuple[str, int]]:
    """Start a server process; yield the first output line containing `ready`,
    and the process id."""
    proc = subprocess.Popen(args, cwd=cwd, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    line = ""
    for line in proc.stdout:
        if ready in line or time.monotonic() > deadline:
            break
    try:
        yield line, proc.pid
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


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:  # wrk prints nan when a run got no answers
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


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
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
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
        with process(args, "/crm/v2/functions/") as (line, _):
            yield re.search(r"(http://127\.0\.0\.1:\d+)", line).group(1)  # type: ignore[union-attr]

    return start  # type: ignore[return-value]


def execute(base: str, name: str) -> str:
    return (
        f"{base}/crm/v2/functions/{name}/actions/execute?auth_type=apikey&zapikey={KEY}"
    )


FLOOR = "floor: bare app + one pipe round trip"
SANDBOX_FLOOR = "floor: bare app + the sandboxed worker"


def bare(processes: int, seconds: float, label: str, *extra: str) -> list[Figure]:
    port = free_port()
    args = [sys.executable, str(HERE / "bare_app.py"), str(port), str(processes),
            *extra]  # fmt: skip
    with process(args, "listening"):
        time.sleep(0.3 * processes)  # the children start after the line
        return measure(label, f"http://127.0.0.1:{port}/", seconds)


def oauth_token(config: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "emulator", "token", "--config", str(config), "--json",
         "--scope", "ZohoCRM.functions.execute.READ"],
        env=env(), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return str(json.loads(out)["access_token"])


def run_http(seconds: float, work: Path) -> list[Figure]:
    figures = bare(1, seconds, BASELINE)
    figures += bare(1, seconds, FLOOR, "--round-trip")
    figures += bare(1, seconds, SANDBOX_FLOOR, "--worker")
    config = project(work / "http")
    with emulator(config)() as base:
        figures += measure("emulator, API key", execute(base, "trivial"), seconds)
        token = {"Authorization": f"Zoho-oauthtoken {oauth_token(config)}"}
        oauth = f"{base}/crm/v2/functions/trivial/actions/execute?auth_type=oauth"
        figures += measure("emulator, OAuth token", oauth, seconds, token)
        figures += measure(
            "emulator, CPU-heavy function", execute(base, "cpu"), seconds
        )
    return figures


def run_processes(seconds: float, work: Path, processes: int) -> list[Figure]:
    figures = bare(processes, seconds, f"{BASELINE} x{processes} processes")
    figures += bare(
        processes, seconds, f"{FLOOR} x{processes} processes", "--round-trip"
    )
    figures += bare(
        processes, seconds, f"{SANDBOX_FLOOR} x{processes} processes", "--worker"
    )
    config = project(work / "processes")
    with emulator(config, "--processes", str(processes))() as base:
        time.sleep(1.0)  # let every process start its workers
        url = execute(base, "trivial")
        figures += measure(f"emulator, API key x{processes} processes", url, seconds)
    return figures


def with_ratios(figures: list[Figure]) -> list[Figure]:
    """Each emulator row over the baseline row of the same setup and concurrency
    (the multi-process rows over the multi-process baseline)."""
    base = {
        (f.scenario.partition(" x")[2], f.concurrency): f.rps
        for f in figures
        if f.scenario.startswith(BASELINE)
    }
    return [
        Figure(**{**asdict(f), "ratio": round(f.rps / base[key], 3)})
        if (key := (f.scenario.partition(" x")[2], f.concurrency)) in base else f
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


def timing_table(timings: dict[str, list[float]]) -> str:
    names = {
        "reload_ms": "save to first response of the new version",
        "call_without_save_ms": "one call, no save (for scale)",
        "compile_200_ms": "compile 200 functions",
        "start_200_to_first_answer_ms": "start with 200 functions to first answer",
    }
    lines = ["| timing | median ms | p95 ms | n |", "|---|---:|---:|---:|"]
    for key, label in names.items():
        values = sorted(timings[key])
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        lines.append(
            f"| {label} | {statistics.median(values):.1f} | {p95:.1f} | {len(values)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="length of each wrk run"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--processes", type=int, default=2, help="for the multi-process rows"
    )
    parser.add_argument(
        "--saves", type=int, default=40, help="saves for reload latency"
    )
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        figures = run_http(options.seconds, Path(tmp))
        figures += run_processes(options.seconds, Path(tmp), options.processes)
    figures = with_ratios(figures)
    print("reload latency and startup (benchmarks/bench_reload.py) ...", flush=True)
    reload = bench_reload.reload_latency(options.saves, 0.1, 5.0)
    compile_ms, first_call_ms = bench_reload.startup(200, 3)
    timings = {
        "reload_ms": [
            v for k, vs in reload.items() if k != bench_reload.BASELINE for v in vs
        ],
        "call_without_save_ms": reload[bench_reload.BASELINE],
        "compile_200_ms": compile_ms,
        "start_200_to_first_answer_ms": first_call_ms,
    }
    options.out.mkdir(parents=True, exist_ok=True)
    raw = {"http": [asdict(f) for f in figures], "timings": timings}
    (options.out / "results.json").write_text(json.dumps(raw, indent=2))
    table = markdown(figures, options.seconds) + "\n" + timing_table(timings)
    (options.out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
