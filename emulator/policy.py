"""What a function script may use: builtins, guards and importable modules.

Deny by default. RestrictedPython rewrites attribute access, item access,
iteration, writes and prints into calls of the guards named here; the compile
step already refuses names and attributes that start with '_'.
"""

from __future__ import annotations

import builtins
import importlib
import json
import operator
import types
from collections.abc import Callable
from typing import Any

from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)

from .outcome import Outcome, Problem

# Modules a script may import. Each is handed out as a read-only namespace of
# its public names, without the modules it imports itself (json imports codecs,
# and codecs.open reads files).
ALLOWED_MODULES = frozenset(
    {
        "base64", "calendar", "collections", "datetime", "decimal", "functools",
        "hashlib", "hmac", "html", "itertools", "json", "math", "random", "re",
        "statistics", "string", "textwrap", "unicodedata", "urllib.parse", "uuid",
        "zoneinfo",
    }
)  # fmt: skip

# Plain builtins that cannot reach anything outside the values given to them.
# Not here, and why: open (files), eval/exec/compile (unrestricted code),
# getattr/vars/dir/globals/locals (bypass the attribute guard), type (three-
# argument form builds classes with hostile dunders), input (blocks the worker),
# __import__ (replaced by the allowlist importer).
EXTRA_BUILTINS = (
    "all", "any", "ascii", "bin", "bytes", "dict", "enumerate", "filter", "format",
    "frozenset", "iter", "list", "map", "max", "min", "next", "object", "reversed",
    "set", "sum", "tuple", "zip", "bytearray", "property", "staticmethod",
    "classmethod", "Exception", "StopIteration",
)  # fmt: skip
REMOVED_BUILTINS = ("setattr", "delattr")


def _builtins() -> dict[str, Any]:
    table = dict(safe_builtins)
    for name in REMOVED_BUILTINS:
        table.pop(name, None)
    table.update({name: getattr(builtins, name) for name in EXTRA_BUILTINS})
    return table


class Capture:
    """Collects what one invocation says through `info` and `print`."""

    def __init__(self) -> None:
        self.info_lines: list[str] = []
        self.printed: list[str] = []

    def info(self, *values: Any) -> None:
        self.info_lines.append(" ".join(_info_text(v) for v in values))

    def printer(self) -> type:
        sink = self.printed

        class Printer:
            """What RestrictedPython calls for `print(...)` inside a function."""

            def __init__(self, _getattr_: Any = None) -> None:
                self.parts: list[str] = []

            def _call_print(
                self, *objects: Any, sep: str = " ", end: str = "\n", **_: Any
            ) -> None:
                text = sep.join(str(o) for o in objects)
                self.parts.append(text + end)
                sink.extend(text.splitlines() or [""])

            def __call__(self) -> str:
                return "".join(self.parts)

        return Printer

    def outcome(
        self, value: Any, duration_ms: float, problem: Problem | None
    ) -> Outcome:
        return Outcome(
            value, tuple(self.info_lines), tuple(self.printed), duration_ms, problem
        )


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


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    operators: dict[str, Callable[[Any, Any], Any]] = {
        "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
        "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": operator.imod,
        "**=": operator.ipow, "|=": operator.ior, "&=": operator.iand,
        "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift,
    }  # fmt: skip
    return operators[op](target, value)


def _module(name: str) -> types.SimpleNamespace:
    real = importlib.import_module(name)
    public = {
        attr: getattr(real, attr)
        for attr in dir(real)
        if not attr.startswith("_")
        and not isinstance(getattr(real, attr), types.ModuleType)
    }
    return types.SimpleNamespace(**public)


def importer() -> Any:
    """The `__import__` a script sees: allowlisted modules only, as namespaces."""
    cache: dict[str, types.SimpleNamespace] = {}

    def load(name: str) -> types.SimpleNamespace:
        if name not in cache:
            cache[name] = _module(name)
        return cache[name]

    def _import(
        name: str,
        globals: Any = None,
        locals: Any = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if level or name not in ALLOWED_MODULES:
            allowed = ", ".join(sorted(ALLOWED_MODULES))
            raise ImportError(
                f"import of '{name}' is not allowed in a function; allowed modules: {allowed}"
            )
        if fromlist or "." not in name:
            return load(name)
        _top, _, sub = name.partition(".")
        return types.SimpleNamespace(**{sub: load(name)})

    return _import


def globals_for(filename: str, capture: Capture) -> dict[str, Any]:
    """Fresh globals for one run of a script."""
    table = _builtins()
    table["__import__"] = importer()
    return {
        "__builtins__": table,
        "__name__": filename.rsplit("/", 1)[-1].removesuffix(".py"),
        "__metaclass__": type,
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        "_apply_": lambda f, *a, **k: f(*a, **k),
        "_print_": capture.printer(),
        "info": capture.info,
    }
