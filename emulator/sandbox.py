"""Compile a function script with RestrictedPython and run its entry point.

The policy (what a script may name, import and touch) lives in `policy`; this
module compiles, collects errors as data, and runs one invocation from fresh
globals, turning whatever happens into an `Outcome`.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass, field
from types import CodeType, TracebackType
from typing import Any

from RestrictedPython.compile import compile_restricted_exec

from . import policy
from .outcome import Outcome, Problem, to_plain


@dataclass(frozen=True)
class Param:
    """One declared argument of the entry point."""

    name: str
    annotation: str | None
    has_default: bool


@dataclass(frozen=True)
class Compiled:
    code: CodeType | None
    params: tuple[Param, ...] = ()
    problems: tuple[Problem, ...] = field(default=())


def compile_script(source: str, filename: str, entry_point: str) -> Compiled:
    """Compile `source`; every error of the file is collected, none is raised."""
    try:
        result = compile_restricted_exec(source, filename)
    except (RecursionError, MemoryError) as exc:
        # A pathological script (thousands of nested brackets) can exhaust the
        # parser; that is a load error for this file only.
        kind = type(exc).__name__
        return Compiled(
            None,
            problems=(Problem(filename, None, f"{kind}: script too deeply nested"),),
        )
    if result.errors:
        return Compiled(
            None, problems=tuple(_problem(filename, e) for e in result.errors)
        )
    tree = ast.parse(source, filename)
    entry = _entry(tree, entry_point)
    if entry is None:
        return Compiled(None, problems=(_missing_entry(tree, filename, entry_point),))
    return Compiled(result.code, params=_params(entry))


def _problem(filename: str, text: str) -> Problem:
    """RestrictedPython reports 'Line 3: reason'; keep the line as a number."""
    head, sep, rest = text.partition(": ")
    if sep and head.startswith("Line ") and head[5:].isdigit():
        return Problem(filename, int(head[5:]), rest)
    return Problem(filename, None, text)


def _entry(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None


def _missing_entry(tree: ast.Module, filename: str, name: str) -> Problem:
    defined = [
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    found = ", ".join(f"'{n}'" for n in defined) if defined else "no functions"
    return Problem(
        filename,
        None,
        f"expected a function named '{name}'; found {found}. Rename it, or set "
        f"entry_point in config.yaml.",
    )


def _params(entry: ast.FunctionDef) -> tuple[Param, ...]:
    args = entry.args
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(args.defaults)
    params = [
        Param(a.arg, _annotation(a.annotation), i >= first_default)
        for i, a in enumerate(positional)
    ]
    params += [
        Param(a.arg, _annotation(a.annotation), d is not None)
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    return tuple(params)


def _annotation(node: ast.expr | None) -> str | None:
    """The type name that drives coercion: `int`, `int | None` and `Optional[int]` -> int."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _annotation(ast.parse(node.value, mode="eval").body)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        for side in (node.left, node.right):
            if not (isinstance(side, ast.Constant) and side.value is None):
                return _annotation(side)
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) in (
        "Optional",
        "typing.Optional",
    ):
        return _annotation(node.slice)
    return ast.unparse(node).rsplit(".", 1)[-1]


def run(
    code: CodeType, filename: str, entry_point: str, kwargs: dict[str, Any]
) -> Outcome:
    """Run the script's module body and then its entry point, from fresh globals."""
    capture = policy.Capture()
    started = time.perf_counter()
    try:
        scope = policy.globals_for(filename, capture)
        exec(code, scope)
        value = scope[entry_point](**kwargs)
        plain = to_plain(value)
    # The sandbox boundary: whatever the script raises, SystemExit and
    # KeyboardInterrupt included, becomes an outcome and never reaches the server.
    except BaseException as exc:  # noqa: BLE001
        problem = _runtime_problem(exc, filename)
        return capture.outcome(None, _elapsed(started), problem)
    return capture.outcome(plain, _elapsed(started), None)


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _runtime_problem(exc: BaseException, filename: str) -> Problem:
    line = _user_line(exc.__traceback__, filename)
    text = str(exc)
    kind = type(exc).__name__
    return Problem(filename, line, f"{kind}: {text}" if text else kind, kind=kind)


def _user_line(tb: TracebackType | None, filename: str) -> int | None:
    """The last line of the user's own file in the traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
