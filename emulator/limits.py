"""The limits one invocation runs under, and the words for each limit reached.

Pure: no I/O. The values come from config.yaml (`limits` and the per-function
`timeout_seconds`) and cross to the worker process inside the job, so a
changed config needs no change in the worker.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .outcome import Problem

if TYPE_CHECKING:
    from .config import Config

# How calls are isolated from each other (`limits.isolation`, docs/sandbox.md):
# each in a fresh process forked ahead of time, or one after the other in a
# long-lived worker process, each from fresh state.
PROCESS = "process"
WORKER = "worker"
ISOLATIONS = (PROCESS, WORKER)

# Zoho's documented limits for REST functions (ZOHO-REFERENCE.md, 6.2).
ZOHO_TIMEOUT_SECONDS = 60.0
ZOHO_STATEMENTS = 200_000
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = ZOHO_TIMEOUT_SECONDS
    statements: int = ZOHO_STATEMENTS
    memory_mb: int = 512
    info_lines: int = 1000
    print_bytes: int = MB
    response_bytes: int = 10 * MB

    def to_json(self) -> dict[str, Any]:
        return {
            "timeout_seconds": self.timeout_seconds,
            "statements": self.statements,
            "memory_mb": self.memory_mb,
            "info_lines": self.info_lines,
            "print_bytes": self.print_bytes,
            "response_bytes": self.response_bytes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Limits:
        return cls(**data)


class LimitHit(BaseException):
    """Raised inside the sandbox when a limit is reached.

    A BaseException, so that `except Exception` in a function does not swallow
    it; the statement counter raises it again at the next statement, so that a
    bare `except:` cannot swallow it either.
    """

    def __init__(self, limit: str, value: float) -> None:
        super().__init__(limit)
        self.limit = limit
        self.value = value


def for_function(config: Config, name: str) -> Limits:
    """The limits of one function: the global ones, with its own timeout if set."""
    own = config.function(name).timeout_seconds
    return Limits(
        timeout_seconds=own if own is not None else config.limits.timeout_seconds,
        statements=config.limits.statements,
        memory_mb=config.limits.memory_mb,
        info_lines=config.limits.info_lines,
        print_bytes=config.limits.print_bytes,
        response_bytes=config.limits.response_bytes,
    )


def with_timeout(config: Config, seconds: float) -> Config:
    """`serve --timeout`: one wall-time limit for every function, for this run."""
    functions = {
        name: dataclasses.replace(f, timeout_seconds=None)
        for name, f in config.functions.items()
    }
    return dataclasses.replace(
        config,
        limits=dataclasses.replace(config.limits, timeout_seconds=seconds),
        functions=functions,
    )


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe(limit: str, value: float, function: str) -> tuple[str, str]:
    """(what happened, how to fix it) for a limit reached by `function`."""
    v = _number(value)
    texts = {
        "timeout_seconds": (
            f"time limit reached: the function ran longer than {v} s",
            f"Make it do less work, or raise functions.{function}.timeout_seconds or "
            f"limits.timeout_seconds in config.yaml (Zoho allows 60 s for REST "
            f"functions); 'serve --timeout SECONDS' overrides both for one run.",
        ),
        "statements": (
            f"statement limit reached: the function executed more than {v} statements",
            "Do less work per call, or raise limits.statements in config.yaml "
            "(Zoho stops a function at 200,000).",
        ),
        "memory_mb": (
            f"memory limit reached: the function needed more than {v} MB",
            "Build smaller values, or raise limits.memory_mb in config.yaml.",
        ),
        "info_lines": (
            f"info limit reached: the function called info() more than {v} times",
            "Log less, or raise limits.info_lines in config.yaml.",
        ),
        "print_bytes": (
            f"print limit reached: the function printed more than {v} bytes",
            "Print less, or raise limits.print_bytes in config.yaml.",
        ),
        "response_bytes": (
            f"response size limit reached: the function returned more than {v} "
            f"bytes (output and info lines)",
            "Return less data, or raise limits.response_bytes in config.yaml "
            "(Zoho's limit is 10 MB).",
        ),
        "recursion_depth": (
            f"recursion limit reached: calls nested more than {v} deep",
            "Rewrite the recursion as a loop; the depth is fixed so that deep "
            "recursion cannot crash the worker.",
        ),
    }
    return texts[limit]


def problem(
    filename: str, line: int | None, function: str, limit: str, value: float
) -> Problem:
    """The Problem of a limit reached: which limit, its value, how to raise it."""
    message, hint = describe(limit, value, function)
    return Problem(
        filename, line, message, kind="limit", hint=hint, limit=limit, limit_value=value
    )
