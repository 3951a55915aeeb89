"""Hot-reload benchmark: save-to-first-new-response latency, and startup time.

    python benchmarks/bench_reload.py                  # both, default sizes
    python benchmarks/bench_reload.py --saves 200 --functions 200

Reload latency: the real server (`python -m emulator serve --port 0`) runs on a
temporary project; each round saves a new version of a 60-line function (in
place, or as a temp file renamed over it, alternately) and polls the execute URL until a response
carries the new X-Function-Version. The latency is from just before the write
to the arrival of that response. Rounds are paced (--pause) to stay below the
watcher's reload-loop guard, as a person saving would.

Startup: a project with --functions generated scripts of about 60 lines each;
the time to compile them all in process (`Registry.load_all`), and the time
from starting the server process to its first answered call.

Everything listens on 127.0.0.1 on a free port and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.registry import Registry, version_of  # noqa: E402

KEY = "1003." + "a" * 32 + "." + "b" * 32
CONFIG = f"api_keys:\n  - key: {KEY}\n"
QUERY = f"?auth_type=apikey&zapikey={KEY}"


FUNCTION = """\
# Generated function {n}: a lead scoring rule with a few helpers.
import json
import math
from datetime import date, datetime

WEIGHTS = {{"email": 10, "phone": 5, "company": 8, "title": 3, "source_{n}": {n}}}
SOURCES = ["web", "referral", "partner", "event", "cold_call"]


def normalise(text):
    if text is None:
        return ""
    return " ".join(str(text).split()).strip().lower()


def completeness(lead):
    score = 0
    for field, weight in WEIGHTS.items():
        if normalise(lead.get(field)):
            score += weight
    return score


def recency(created, today=None):
    today = today or date(2026, 1, 1)
    try:
        day = datetime.fromisoformat(created).date()
    except (TypeError, ValueError):
        return 0
    age = (today - day).days
    return max(0, 30 - age)


def source_bonus(source):
    source = normalise(source)
    if source in SOURCES:
        return 10 - SOURCES.index(source) * 2
    return 0


def handler(crmAPIRequest, lead_id: str = "", threshold: int = {n}):
    body = crmAPIRequest.get("body") or "{{}}"
    try:
        lead = json.loads(body)
    except ValueError:
        return {{"crmAPIResponse": {{"status_code": 400, "body": {{"error": "not JSON"}}}}}}
    score = completeness(lead) + recency(lead.get("created")) + source_bonus(
        lead.get("source")
    )
    score = int(math.floor(score * 1.0))
    info("lead", lead_id, "scored", score)
    result = {{
        "id": lead_id,
        "score": score,
        "hot": score >= threshold,
        "rule": {n},
    }}
    return result
"""


class Server:
    def __init__(self, project: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", "0", *args],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        banner = ""
        for line in self.process.stdout:
            banner += line
            if line.startswith("A development tool"):
                break
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        if not match:
            self.process.kill()
            raise SystemExit(f"the server did not start:\n{banner}")
        self.port = int(match.group(1))
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def version(self, name: str) -> tuple[int, str | None]:
        path = f"/crm/v2/functions/{name}/actions/execute{QUERY}"
        try:
            self.connection.request("GET", path)
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=10
            )
            return 0, None
        return response.status, response.getheader("X-Function-Version")

    def stop(self) -> str:
        self.connection.close()
        self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        return out


def write_in_place(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def write_and_rename(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def project(folder: Path) -> Path:
    (folder / "functions").mkdir()
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return folder


STYLES = {"in place": write_in_place, "temp + rename": write_and_rename}
BASELINE = "one call, no save"


def reload_latency(saves: int, pause: float, timeout: float) -> dict[str, list[float]]:
    styles = STYLES
    results: dict[str, list[float]] = {name: [] for name in [*styles, BASELINE]}
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp))
        script = root / "functions" / "rule.py"
        script.write_text(FUNCTION.format(n=0), encoding="utf-8")
        server = Server(root)
        try:
            for _ in range(50):
                started = time.perf_counter()
                server.version("rule")
                results[BASELINE].append((time.perf_counter() - started) * 1000)
            for n in range(1, saves + 1):
                style = list(styles)[n % 2]
                text = FUNCTION.format(n=n)
                version = version_of(text.encode())
                started = time.perf_counter()
                styles[style](script, text)
                while server.version("rule") != (200, version):
                    if time.perf_counter() - started > timeout:
                        raise SystemExit(f"save {n} was not served in {timeout}s")
                    time.sleep(0.0002)
                results[style].append((time.perf_counter() - started) * 1000)
                time.sleep(pause)
        finally:
            server.stop()
    return results


def startup(functions: int, runs: int) -> tuple[list[float], list[float]]:
    compile_ms: list[float] = []
    first_call_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp))
        for n in range(functions):
            path = root / "functions" / f"rule_{n:03}.py"
            path.write_text(FUNCTION.format(n=n), encoding="utf-8")
        for _ in range(runs):
            registry = Registry(root / "functions", root, "handler")
            started = time.perf_counter()
            scripts = registry.load_all()
            compile_ms.append((time.perf_counter() - started) * 1000)
            assert len(scripts) == functions and all(s.ok for s in scripts)
        for _ in range(runs):
            server = Server(root)
            while (status := server.version("rule_000")[0]) != 200:
                if time.perf_counter() - server.started > 30:
                    server.stop()
                    raise SystemExit(f"rule_000 answers {status}, not 200")
                time.sleep(0.001)
            first_call_ms.append((time.perf_counter() - server.started) * 1000)
            server.stop()
    return compile_ms, first_call_ms


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {ordered[-1]:7.1f} ms   (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=100)
    parser.add_argument(
        "--pause", type=float, default=0.15, help="seconds between saves"
    )
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5, help="startup runs")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--skip-reload", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} cpus")
    if not args.skip_reload:
        results = reload_latency(args.saves, args.pause, args.timeout)
        print("reload latency, write -> first response with the new version:")
        for style in STYLES:
            print(f"  {style:14} {summary(results[style])}")
        saved = [v for style in STYLES for v in results[style]]
        print(f"  {'all saves':14} {summary(saved)}")
        print(f"for scale, {BASELINE}: {summary(results[BASELINE])}")
    if not args.skip_startup:
        compile_ms, first_call_ms = startup(args.functions, args.runs)
        print(f"startup with {args.functions} functions:")
        print(f"  compile all    {summary(compile_ms)}")
        print(f"  process start -> first answered call: {summary(first_call_ms)}")


if __name__ == "__main__":
    main()
