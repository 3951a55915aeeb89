"""What a function script may use: its builtins, `info`, `print`, and the guards.

Deny by default: the builtins table is built from a list of names, each one
harmless on its own; what is left out and why is listed below. The guards
are in `guards`, the importable modules in `modules`, the statement counter
in `counting`. `globals_for` puts one invocation's set together, fresh each
time.
"""

from __future__ import annotations

import builtins
import functools
import json
import types
from typing import Any

from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
)

from . import guards
from .counting import Counter
from .limits import LimitHit, Limits
from .modules import Importer
from .outcome import Outcome, Problem

# Builtins that cannot reach anything outside the values given to them.
SAFE_BUILTINS = (
    "None", "False", "True", "Ellipsis", "NotImplemented",
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable",
    "chr", "classmethod", "complex", "dict", "divmod", "enumerate", "filter",
    "float", "format", "frozenset", "hash", "hex", "int", "isinstance",
    "issubclass", "iter", "len", "list", "map", "max", "min", "next", "object",
    "oct", "ord", "pow", "property", "range", "repr", "reversed", "round", "set",
    "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple", "zip",
)  # fmt: skip
SAFE_EXCEPTIONS = (
    "ArithmeticError", "AssertionError", "AttributeError", "BaseException",
    "Exception", "GeneratorExit", "ImportError", "IndexError", "KeyError",
    "KeyboardInterrupt", "LookupError", "MemoryError", "NameError",
    "NotImplementedError", "OverflowError", "RecursionError", "RuntimeError",
    "StopIteration", "SystemExit", "TypeError", "UnboundLocalError",
    "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError", "ValueError",
    "ZeroDivisionError", "Warning", "UserWarning",
)  # fmt: skip
# Left out, and why; a NameError for one of these carries the hint.
BLOCKED_BUILTINS = {
    "open": "functions cannot read or write the host's files",
    "eval": "it runs code outside the sandbox; parse data with json.loads",
    "exec": "it runs code outside the sandbox",
    "compile": "it builds code outside the sandbox",
    "globals": "it hands out the sandbox's own names",
    "locals": "it hands out the sandbox's own names",
    "vars": "it reads private attributes; use the attributes by name",
    "dir": "it lists private attributes and module contents",
    "setattr": "write obj.name = value instead",
    "delattr": "write del obj.name instead",
    "input": "a function has no terminal to read from",
    "breakpoint": "a function has no debugger; use info() or print()",
    "help": "a function has no terminal",
    "memoryview": "not needed by function code; use bytes",
    "id": "it shows memory addresses of the worker",
    "exit": "return from the function instead",
    "quit": "return from the function instead",
}
ALL_BLOCKED = {name for name in dir(builtins) if not name.startswith("_")} - set(
    SAFE_BUILTINS + SAFE_EXCEPTIONS
)


# The builtins every invocation shares, read-only; each gets a copy.
_SHARED_BUILTINS = types.MappingProxyType(
    {
        **{name: getattr(builtins, name) for name in SAFE_BUILTINS + SAFE_EXCEPTIONS},
        "getattr": guards.guarded_getattr,
        "hasattr": guards.guarded_hasattr,
        "type": guards.safe_type,
    }
)


def builtins_table(writes: guards.Writes) -> dict[str, Any]:
    """The `__builtins__` of one invocation."""
    table = _SHARED_BUILTINS.copy()  # a plain dict, copied at C speed
    table["__build_class__"] = writes.build_class
    table["__import__"] = Importer()
    return table


def blocked_hint(name: str) -> str:
    why = BLOCKED_BUILTINS.get(name)
    if why:
        return f"'{name}' is not available in functions: {why}."
    if name in ALL_BLOCKED:
        return f"'{name}' is not available in functions."
    return ""


class Capture:
    """Collects what one invocation says through `info` and `print`, within limits."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.info_lines: list[str] = []
        self.printed: list[str] = []
        self.printed_bytes = 0

    def info(self, *values: Any) -> None:
        if len(self.info_lines) >= self.limits.info_lines:
            raise LimitHit("info_lines", self.limits.info_lines)
        self.info_lines.append(" ".join(_info_text(v) for v in values))

    def print_text(self, text: str) -> None:
        self.printed_bytes += len(text.encode("utf-8", "replace"))
        if self.printed_bytes > self.limits.print_bytes:
            raise LimitHit("print_bytes", self.limits.print_bytes)
        self.printed.extend(text.splitlines() or [""])

    def printer(self) -> functools.partial[Printer]:
        """The `_print_` of one invocation: RestrictedPython calls it with
        `_getattr_` to get the printer of a function body."""
        return functools.partial(Printer, self)

    def outcome(
        self, value: Any, duration_ms: float, problem: Problem | None, statements: int
    ) -> Outcome:
        return Outcome(
            value,
            tuple(self.info_lines),
            tuple(self.printed),
            duration_ms,
            problem,
            statements,
        )


class Printer:
    """What RestrictedPython calls for `print(...)` inside a function."""

    def __init__(self, capture: Capture, _getattr_: Any = None) -> None:
        self.capture = capture
        self.parts: list[str] = []

    def _call_print(
        self, *objects: Any, sep: str | None = " ", end: str | None = "\n",
        file: Any = None, flush: bool = False,
    ) -> None:  # fmt: skip
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        text = sep.join(str(o) for o in objects)
        if file is not None:
            guards.guarded_getattr(file, "write")(text + end)
            return
        self.capture.print_text(text)
        self.parts.append(text + end)

    def __call__(self) -> str:
        return "".join(self.parts)


def _info_text(value: Any) -> str:
    """Deluge's info shows maps and lists as JSON; so do we."""
    if isinstance(value, dict | list):
        try:
            return json.dumps(
                value, separators=(",", ":"), ensure_ascii=False, default=str
            )
        except ValueError:
            return str(value)
    return str(value)


def globals_for(
    filename: str, capture: Capture, counter: Counter | None = None
) -> dict[str, Any]:
    """Fresh globals for one run of a script."""
    writes = guards.Writes()
    counter = counter or Counter(capture.limits.statements)
    return {
        "__builtins__": builtins_table(writes),
        "__name__": filename.rsplit("/", 1)[-1].removesuffix(".py"),
        "__metaclass__": type,
        "_getattr_": guards.guarded_getattr,
        "_getitem_": guards.guarded_getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": writes.guard,
        "_inplacevar_": guards.inplacevar,
        "_apply_": guards.apply,
        "_print_": capture.printer(),
        **counter.names(),
        "info": capture.info,
    }
