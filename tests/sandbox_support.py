"""Helpers shared by the sandbox tests: scripts, envelopes, processes."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from emulator import sandbox
from emulator.limits import PROCESS, WORKER, Limits, describe
from emulator.registry import Script, version_of

# Small limits, so that runaway functions end quickly in tests.
TEST_LIMITS = {
    "timeout_seconds": 1.0,
    "statements": 10000,
    "memory_mb": 128,
    "info_lines": 3,
    "print_bytes": 1000,
    "response_bytes": 2000,
}
SMALL = Limits(**TEST_LIMITS)
# Both ways of isolating calls (limits.isolation), for tests that run in workers.
ISOLATIONS = [pytest.param(PROCESS, id="process"), pytest.param(WORKER, id="worker")]


def script(source: str, name: str = "f") -> Script:
    """A Script compiled from `source`, as the registry would make it."""
    source = textwrap.dedent(source)
    display = f"functions/{name}.py"
    compiled = sandbox.compile_script(source, display, "handler")
    return Script(
        name,
        Path(display),
        display,
        version_of(source.encode()),
        source,
        compiled,
    )


def limit_envelope(
    name: str,
    line: int | None,
    limit: str,
    value: float,
    info: list[str] | None = None,
) -> dict[str, Any]:
    """The exact LIMIT_REACHED envelope for `limit` hit by functions/<name>.py."""
    what, fix = describe(limit, value, name)
    where = f"functions/{name}.py, line {line}" if line else f"functions/{name}.py"
    details: dict[str, Any] = {
        "file": f"functions/{name}.py",
        "line": line,
        "limit": limit,
        "value": value,
    }
    if info:
        details["userMessage"] = info
    return {
        "code": "LIMIT_REACHED",
        "details": details,
        "message": f"{what} ({where}). {fix}",
        "status": "error",
    }


def error_envelope(
    name: str,
    line: int | None,
    message: str,
    hint: str = "",
    info: list[str] | None = None,
) -> dict[str, Any]:
    where = f"functions/{name}.py, line {line}" if line else f"functions/{name}.py"
    details: dict[str, Any] = {"file": f"functions/{name}.py", "line": line}
    if info:
        details["userMessage"] = info
    text = f"{message} ({where})" + (f". {hint}" if hint else "")
    return {
        "code": "FUNCTION_EXECUTION_ERROR",
        "details": details,
        "message": text,
        "status": "error",
    }


def children(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc (Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def descendants(pid: int) -> list[int]:
    """Running descendants of `pid` (zombies about to be reaped left out)."""
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return [p for p in found if alive(p)]


def alive(pid: int) -> bool:
    """Running (a zombie, which only waits to be reaped, does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(predicate: Any, seconds: float = 10.0) -> bool:
    """Poll `predicate` until it holds or `seconds` pass (a bound, not a timing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
