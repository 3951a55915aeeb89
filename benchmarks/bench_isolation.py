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
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import (  # noqa: E402
    BASELINE,
    Figure,
    bare,
    emulator,
    execute,
    markdown,
    measure,
    project,
    with_ratios,
)

MODES = ("worker", "process")


def run_modes(seconds: float, work: Path) -> list[Figure]:
    figures: list[Figure] = bare(1, seconds, BASELINE)
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
