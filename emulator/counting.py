"""Zoho's statement limit: count executed statements by instrumenting the compile.

What counts (docs/sandbox.md says the same):
- every statement counts 1 each time it runs: a simple statement, and the
  header of a compound one (`if`, `for`, `while`, `try`, `with`, `def`,
  `class`); an `elif` is an `if` inside the `else` block;
- the statements of a block are counted together when the block is entered
  (one `_tick_(n)` call per block), so a block left early by an exception,
  `break`, `continue` or `return` has counted all of its statements;
- each iteration of a comprehension or generator expression counts 1;
- each call of a lambda counts 1.
Work done inside one call of C code (`sum(range(10**9))`, `10**10**8`, a
regex) is not counted; the time and memory limits stop that.

The ticks are inserted before RestrictedPython's own transformation, so the
count is of the statements the author wrote, not of the ones the compiler
adds; `CountingTransformer` lets exactly these inserted names through.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from RestrictedPython.transformer import RestrictingNodeTransformer

from .limits import LimitHit

TICK = "_tick_"
TICK_ITER = "_tick_iter_"
_MARK = "zcrm_counter"  # set on the Name nodes we insert; user code cannot set it
_BLOCKS = ("body", "orelse", "finalbody")


def _name(identifier: str) -> ast.Name:
    node = ast.Name(identifier, ast.Load())
    setattr(node, _MARK, True)
    return node


def _tick(count: int, where: ast.AST) -> ast.Expr:
    call = ast.Call(_name(TICK), [ast.Constant(count)], [])
    stmt = ast.Expr(call)
    for node in (stmt, call, call.func, call.args[0]):
        ast.copy_location(node, where)
    return stmt


class Instrument(ast.NodeTransformer):
    """Adds the counting calls to a parsed module (before RestrictedPython runs)."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        self.generic_visit(node)
        if node.body:
            start = _after_future_imports(node.body)
            where = node.body[min(start, len(node.body) - 1)]
            node.body.insert(start, _tick(len(node.body), where))
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if isinstance(node, ast.stmt | ast.excepthandler) and not isinstance(
            node, ast.Module
        ):
            for field in _BLOCKS:
                block = getattr(node, field, None)
                if isinstance(block, list) and block:
                    block.insert(0, _tick(len(block), block[0]))
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        counted = ast.Call(_name(TICK_ITER), [node.iter], [])
        ast.copy_location(counted, node.iter)
        ast.copy_location(counted.func, node.iter)
        node.iter = counted
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        self.generic_visit(node)
        tick = ast.Call(_name(TICK), [ast.Constant(1)], [])
        body = ast.BoolOp(ast.Or(), [tick, node.body])
        for new in (body, tick, tick.func, tick.args[0]):
            ast.copy_location(new, node.body)
        node.body = body
        return node


def _after_future_imports(body: list[ast.stmt]) -> int:
    """Where the module's tick goes: after its docstring and `__future__` imports."""
    position = 0
    for position, stmt in enumerate(body):
        is_doc = (
            position == 0
            and isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        )
        is_future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if not (is_doc or is_future):
            return position
    return len(body)


class CountingTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy, letting through the counter names we inserted."""

    def check_name(
        self, node: Any, name: str | None, allow_magic_methods: bool = False
    ) -> None:
        if getattr(node, _MARK, False) and name in (TICK, TICK_ITER):
            return
        super().check_name(node, name, allow_magic_methods)


def instrument(tree: ast.Module) -> ast.Module:
    result: ast.Module = Instrument().visit(tree)
    return result


class Counter:
    """The statement counter of one invocation.

    `tick` is called once per block entered; `expire` (the worker's timer)
    makes every later tick raise the time limit, so that a function that
    catches the first LimitHit is stopped at its next statement. Closures, not
    attributes: the tick runs once per loop iteration and must be cheap.
    """

    def __init__(self, limit: int) -> None:
        count = 0
        cap = limit
        reason: tuple[str, float] = ("statements", limit)

        def tick(n: int) -> None:
            nonlocal count
            count += n
            if count > cap:
                raise LimitHit(*reason)

        def expire(why: str, value: float) -> None:
            nonlocal cap, reason
            cap, reason = -1, (why, value)
            raise LimitHit(why, value)

        def executed() -> int:
            return count

        def stop() -> None:
            nonlocal cap
            cap = -1

        self.tick: Callable[[int], None] = tick
        self.expire: Callable[[str, float], None] = expire
        self.executed: Callable[[], int] = executed
        # After the call: code of the call that outlives it (a generator
        # finalized later by the garbage collector) stops at its first block.
        self.stop: Callable[[], None] = stop

    def ticking(self, iterable: Iterable[Any]) -> Iterator[Any]:
        tick = self.tick
        for item in iterable:
            tick(1)
            yield item

    def names(self) -> dict[str, Callable[..., Any]]:
        return {TICK: self.tick, TICK_ITER: self.ticking}
