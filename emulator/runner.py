"""How a compiled function gets run: one small interface, so the execute
endpoint does not care whether it runs in this process or in a worker."""

from __future__ import annotations

from typing import Any, Protocol

from . import sandbox
from .outcome import Outcome, Problem
from .registry import Script


class Runner(Protocol):
    def run(self, script: Script, kwargs: dict[str, Any]) -> Outcome: ...

    def close(self) -> None: ...


class InProcessRunner:
    """Runs functions in the server's own thread; no time or memory limit."""

    def __init__(self, entry_point: str) -> None:
        self.entry_point = entry_point

    def run(self, script: Script, kwargs: dict[str, Any]) -> Outcome:
        code = script.compiled.code
        if code is None:
            problem = Problem(script.display, None, "the script did not compile")
            return Outcome(None, (), (), 0.0, problem)
        return sandbox.run(code, script.display, self.entry_point, kwargs)

    def close(self) -> None:
        return None
