"""Compile a function script with RestrictedPython and run its entry point.

The policy (what a script may name, import and touch) lives in `policy`; this
module compiles, collects errors as data, and runs one invocation from fresh
globals, turning whatever happens into an `Outcome`.
"""

from __future__ import annotations

import ast
import decimal
import json
import sys
import time
from dataclasses import dataclass, field
from types import CodeType, TracebackType
from typing import Any

from RestrictedPython.compile import compile_restricted_exec

from . import counting, modules, policy
from .counting import Counter
from .limits import LimitHit, Limits
from .limits import problem as limit_problem
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


PARSE_NAME = "<function script>"


def compile_script(
    source: str, filename: str, entry_point: str, *, count: bool = True
) -> Compiled:
    """Compile `source`; every error of the file is collected, none is raised.

    `count=False` leaves out the statement counter (the benchmark uses it to
    show what the counter costs).
    """
    try:
        return _compile(source, filename, entry_point, count)
    except (RecursionError, MemoryError) as exc:
        # A pathological script (thousands of nested brackets) can exhaust the
        # parser or the compiler; that is a load error for this file only.
        kind = type(exc).__name__
        return Compiled(
            None,
            problems=(
                Problem(
                    filename,
                    None,
                    f"{kind}: the script is nested too deeply to compile. Split "
                    f"deeply nested expressions into smaller steps.",
                ),
            ),
        )


def _compile(source: str, filename: str, entry_point: str, count: bool) -> Compiled:
    try:
        # Not the real file name: for a syntax error CPython quotes the line from
        # the file of that name on disk, relative to the current folder, which
        # may be another file or another version; this way it quotes `source`.
        tree = ast.parse(source, PARSE_NAME)
    except SyntaxError as exc:
        text = f" at statement: {exc.text.strip()!r}" if exc.text else ""
        return Compiled(
            None,
            problems=(Problem(filename, exc.lineno, f"SyntaxError: {exc.msg}{text}"),),
        )
    entry = _entry(tree, entry_point)
    params = _params(entry) if entry else ()
    problems = _import_problems(tree, filename)
    if count:
        tree = counting.instrument(tree)
    result = compile_restricted_exec(
        tree, filename, policy=counting.CountingTransformer
    )
    problems += [_problem(filename, e) for e in result.errors]
    if entry is None:
        problems.append(_missing_entry(tree, filename, entry_point))
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        return Compiled(None, problems=tuple(problems))
    return Compiled(result.code, params=params)


def _import_problems(tree: ast.Module, filename: str) -> list[Problem]:
    """Imports are checked against the allowlist here, so a blocked one is a
    load error with its line, not a surprise at the first call."""
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            error = _import_error(node)
            if error:
                problems.append(Problem(filename, node.lineno, error))
    return problems


def _import_error(node: ast.Import | ast.ImportFrom) -> str | None:
    if isinstance(node, ast.Import):
        errors = (modules.check_import(a.name, ()) for a in node.names)
        return next((e for e in errors if e), None)
    if node.level:
        return "relative imports are not available in functions: each function is one file."
    names = [a.name for a in node.names if a.name != "*"]
    return modules.check_import(node.module or "", names)


# RestrictedPython's messages, and what to do instead.
HINTS = (
    ('invalid variable name because it starts with "_"',
     "Names that start with '_' are reserved for the sandbox; rename it."),
    ('invalid attribute name because it starts with "_"',
     "Private and special attributes (those that start with '_') are not "
     "available in functions."),
    ("is a restricted name", "It reaches the interpreter's frames or code."),
    ("Exec calls are not allowed", "Functions cannot run code built at run time."),
    ("Eval calls are not allowed",
     "Functions cannot run code built at run time; parse data with json.loads."),
    ("Augmented assignment of object items",
     "Write d[key] = d[key] + 1 instead of d[key] += 1."),
    ("Augmented assignment of attributes",
     "Write obj.x = obj.x + 1 instead of obj.x += 1."),
    ("TryStar statements", "except* is blocked (GHSA-gmj9-h825-chq2); use except."),
    ("AnnAssign statements",
     "Variable annotations (x: int = 1) are not supported; write x = 1."),
    ("Match statements", "Use if/elif instead of match."),
    ("Nonlocal statements",
     "Return the new value, or keep it in a dict or an object."),
    ("Async", "async code is not available in functions."),
    ("Await statements", "async code is not available in functions."),
    ('"*" imports are not allowed', "Import the names you use."),
)  # fmt: skip


def _problem(filename: str, text: str) -> Problem:
    """RestrictedPython reports 'Line 3: reason'; keep the line as a number."""
    head, sep, rest = text.partition(": ")
    line = None
    if sep and head.startswith("Line ") and head[5:].isdigit():
        line, text = int(head[5:]), rest
    hint = next((h for needle, h in HINTS if needle in text), "")
    if hint:
        text = f"{text.rstrip('.')}. {hint}"
    return Problem(filename, line, text)


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
    code: CodeType,
    filename: str,
    entry_point: str,
    kwargs: dict[str, Any],
    limits: Limits | None = None,
    *,
    function: str = "",
    counter: Counter | None = None,
) -> Outcome:
    """Run the script's module body and then its entry point, from fresh globals.

    `counter` lets the worker's timer stop the run (Counter.expire).
    """
    limits = limits or Limits()
    capture = policy.Capture(limits)
    counter = counter or Counter(limits.statements)
    started = time.perf_counter()
    try:
        scope = policy.globals_for(filename, capture, counter)
        # A fresh decimal context per run, left behind when the run ends.
        with decimal.localcontext(decimal.Context()):
            exec(code, scope)
            value = scope[entry_point](**kwargs)
        plain = to_plain(value)
        _check_size(plain, capture.info_lines, limits.response_bytes)
    # The sandbox boundary: whatever the script raises, SystemExit and
    # KeyboardInterrupt included, becomes an outcome and never reaches the server.
    except BaseException as exc:  # noqa: BLE001
        problem = runtime_problem(exc, filename, function or _stem(filename), limits)
        return capture.outcome(None, _elapsed(started), problem, counter.executed())
    return capture.outcome(plain, _elapsed(started), None, counter.executed())


def _stem(filename: str) -> str:
    return filename.rsplit("/", 1)[-1].removesuffix(".py")


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _check_size(value: Any, info: list[str], limit: int) -> None:
    """The output and info lines must fit the response. (json's C encoder
    builds every chunk of the text at once anyway, so one dumps is as frugal
    as iterating over chunks, and much quicker.)"""
    size = sum(len(line.encode("utf-8", "replace")) for line in info)
    if isinstance(value, str) and size + 6 * len(value) + 2 <= limit:
        return  # a JSON string takes at most 6 bytes per character
    text = json.dumps(value, ensure_ascii=False)
    if size + len(text.encode("utf-8", "replace")) > limit:
        raise LimitHit("response_bytes", limit)


def runtime_problem(
    exc: BaseException, filename: str, function: str, limits: Limits
) -> Problem:
    line = _user_line(exc.__traceback__, filename)
    limit: tuple[str, float] | None = None
    if isinstance(exc, LimitHit):
        limit = (exc.limit, exc.value)
    elif isinstance(exc, MemoryError):
        limit = ("memory_mb", limits.memory_mb)
    elif isinstance(exc, RecursionError):
        limit = ("recursion_depth", sys.getrecursionlimit())
    if limit is not None:
        return limit_problem(filename, line, function, *limit)
    text = str(exc)
    kind = type(exc).__name__
    hint = policy.blocked_hint(exc.name or "") if isinstance(exc, NameError) else ""
    return Problem(
        filename, line, f"{kind}: {text}" if text else kind, kind=kind, hint=hint
    )


def _user_line(tb: TracebackType | None, filename: str) -> int | None:
    """The last line of the user's own file in the traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
