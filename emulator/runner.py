"""How a compiled function gets run: one small interface, so the execute
endpoint does not care whether it runs in this process or in a worker.

`workers.WorkerRunner` is what the server uses. `InProcessRunner` runs the
function in the calling thread: the guards, the statement counter and the
info/print/response caps apply, but there is no time or memory limit and the
function shares the server's process (and its modules' state). It is for the
emulator's own tests, which need speed, not isolation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from . import limits, sandbox
from .limits import Limits
from .outcome import Outcome, Problem
from .registry import Script

if TYPE_CHECKING:
    from .config import Config

LimitsFor = Callable[[str], Limits]


class Runner(Protocol):
    def run(
        self, script: Script, kwargs: dict[str, Any], user_id: str | None = None
    ) -> Outcome:
        """Run the script's function. Given the caller's `user_id`, a runner
        may answer a success with the rendered envelope (Outcome.envelope)
        instead of the value."""
        ...

    def close(self) -> None: ...


def not_compiled(script: Script) -> Outcome:
    problem = Problem(script.display, None, "the script did not compile")
    return Outcome(None, (), (), 0.0, problem)


class InProcessRunner:
    """Runs functions in the server's own thread; no time or memory limit."""

    def __init__(self, entry_point: str, limits_for: LimitsFor | None = None) -> None:
        self.entry_point = entry_point
        self.limits_for = limits_for or (lambda name: Limits())

    @classmethod
    def from_config(cls, config: Config) -> InProcessRunner:
        return cls(config.entry_point, lambda name: limits.for_function(config, name))

    def run(
        self, script: Script, kwargs: dict[str, Any], user_id: str | None = None
    ) -> Outcome:
        code = script.compiled.code
        if code is None:
            return not_compiled(script)
        return sandbox.run(
            code,
            script.display,
            self.entry_point,
            kwargs,
            self.limits_for(script.name),
            function=script.name,
        )

    def close(self) -> None:
        return None
