"""What one invocation produced, as plain data that can cross a process boundary."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """A load or run error, located in the user's file."""

    file: str
    line: int | None
    message: str
    kind: str = "error"  # the exception type's name, "limit" or "crash"
    hint: str = ""  # how to fix it, when we know
    limit: str | None = None  # for kind "limit": the config key of the limit
    limit_value: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "kind": self.kind,
            "hint": self.hint,
            "limit": self.limit,
            "limit_value": self.limit_value,
        }

    def where(self) -> str:
        return f"{self.file}, line {self.line}" if self.line else self.file

    def text(self) -> str:
        """The message, where it happened, and the hint: what a caller reads."""
        hint = f". {self.hint}" if self.hint else ""
        return f"{self.message} ({self.where()}){hint}"


@dataclass(frozen=True)
class Outcome:
    value: Any
    info: tuple[str, ...]
    printed: tuple[str, ...]
    duration_ms: float
    problem: Problem | None = None
    statements: int = 0  # statements executed, as the statement limit counts them
    # The success envelope, already rendered by the worker (protocol.answer_line);
    # never sent as JSON.
    envelope: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies every value, on every call.
        problem = self.problem
        return {
            "value": self.value,
            "info": self.info,
            "printed": self.printed,
            "duration_ms": self.duration_ms,
            "problem": None if problem is None else problem.to_json(),
            "statements": self.statements,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        problem = Problem(**data["problem"]) if data.get("problem") else None
        return cls(
            value=data["value"],
            info=tuple(data["info"]),
            printed=tuple(data["printed"]),
            duration_ms=data["duration_ms"],
            problem=problem,
            statements=data.get("statements", 0),
        )


def to_plain(value: Any, depth: int = 0) -> Any:
    """The returned value as JSON types; anything else is an error that says what to do."""
    if depth > 100:
        raise ValueError("the return value is nested more than 100 levels deep")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot return {value!r}: JSON has no NaN or infinity")
        return value
    if isinstance(value, dict):
        return {_key(k): to_plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(
        f"cannot return a value of type {type(value).__name__}; return a str, number, "
        f"bool, None, dict or list (convert it with str() or a dict of its fields)"
    )


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return (
            "null"
            if key is None
            else str(key).lower()
            if isinstance(key, bool)
            else str(key)
        )
    raise TypeError(
        f"cannot return a dict with a key of type {type(key).__name__}; use str keys"
    )
