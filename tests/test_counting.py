"""The statement counter: exactly what counts, and that it cannot be dodged."""

from __future__ import annotations

import pytest
from sandbox_support import script

from emulator import sandbox
from emulator.counting import Counter
from emulator.limits import LimitHit, Limits
from emulator.outcome import Outcome


def run(source: str, statements: int = 200_000) -> Outcome:
    job = script(source)
    assert job.compiled.code is not None, job.problems
    limits = Limits(statements=statements)
    return sandbox.run(job.compiled.code, job.display, "handler", {}, limits)


COUNTS = [
    pytest.param("def handler():\n    return 1\n", 2, id="def-and-return"),
    pytest.param(
        """
        import json
        LIMIT = 3
        def handler():
            return LIMIT
        """,
        4,
        id="module-statements",
    ),
    pytest.param(
        """
        def handler():
            total = 0
            for i in range(3):
                total = total + i
            return total
        """,
        7,
        id="for-loop-body-per-iteration",
    ),
    pytest.param(
        """
        def handler():
            n = 0
            while True:
                n = n + 1
                if n == 3:
                    break
            return n
        """,
        11,
        id="while-with-break",
    ),
    pytest.param(
        """
        def handler(x=2):
            if x == 1:
                return "one"
            elif x == 2:
                return "two"
            else:
                return "many"
        """,
        4,
        id="elif-is-an-if-in-the-else-block",
    ),
    pytest.param(
        """
        def handler():
            try:
                1 / 0
                x = 1
            except ZeroDivisionError:
                x = 2
            finally:
                y = 3
            return x
        """,
        7,
        id="a-block-counts-whole-when-entered",
    ),
    pytest.param(
        "def handler():\n    return [i for i in range(5)]\n", 7, id="comprehension"
    ),
    pytest.param(
        "def handler():\n    return sum(i for i in range(4) if i)\n",
        6,
        id="generator-expression",
    ),
    pytest.param(
        "def handler():\n    f = lambda x: x\n    return [f(1), f(2)]\n",
        5,
        id="lambda-calls",
    ),
    pytest.param(
        """
        class Box:
            size = 1
            def get(self):
                return self.size
        def handler():
            return Box().get()
        """,
        6,
        id="class-body-and-method",
    ),
]


@pytest.mark.parametrize(("source", "count"), COUNTS)
def test_what_counts(source: str, count: int) -> None:
    outcome = run(source)
    assert outcome.problem is None
    assert outcome.statements == count


def test_the_limit_allows_exactly_its_value() -> None:
    source = COUNTS[2].values[0]
    assert run(source, statements=7).problem is None
    stopped = run(source, statements=6).problem
    assert stopped is not None
    assert (stopped.limit, stopped.limit_value, stopped.line) == ("statements", 6, 5)


@pytest.mark.parametrize(
    "catcher",
    [
        pytest.param("except:\n            pass", id="bare-except"),
        pytest.param("except BaseException:\n            pass", id="base-exception"),
        pytest.param("finally:\n            n = 0", id="finally"),
    ],
)
def test_catching_the_limit_does_not_stop_it(catcher: str) -> None:
    source = f"""
def handler():
    n = 0
    while True:
        try:
            while True:
                n = n + 1
        {catcher}
"""
    problem = run(source, statements=100).problem
    assert problem is not None
    assert problem.limit == "statements"


def test_the_counter_names_are_out_of_reach() -> None:
    job = script("def handler():\n    _tick_(-1000000)\n")
    assert [p.message for p in job.problems] == [
        '"_tick_" is an invalid variable name because it starts with "_". Names that '
        "start with '_' are reserved for the sandbox; rename it."
    ]


def test_without_counting_nothing_is_counted() -> None:
    compiled = sandbox.compile_script(
        "def handler():\n    return 1\n", "f.py", "handler", count=False
    )
    assert compiled.code is not None
    assert sandbox.run(compiled.code, "f.py", "handler", {}).statements == 0


def test_expire_stops_the_run_now_and_at_every_later_statement() -> None:
    counter = Counter(10)
    counter.tick(5)
    with pytest.raises(LimitHit) as first:
        counter.expire("timeout_seconds", 1.5)
    assert (first.value.limit, first.value.value) == ("timeout_seconds", 1.5)
    with pytest.raises(LimitHit) as later:
        counter.tick(1)
    assert later.value.limit == "timeout_seconds"
    assert counter.executed() == 6


def test_ticking_counts_each_item() -> None:
    counter = Counter(3)
    assert list(counter.ticking("abc")) == ["a", "b", "c"]
    with pytest.raises(LimitHit):
        list(counter.ticking("d"))


def test_a_stopped_counter_stops_code_that_outlives_its_call() -> None:
    """The worker stops a call's counter when the call ends: a generator of that
    call finalized later by the garbage collector stops at its first block."""
    counter = Counter(10)
    counter.tick(1)
    counter.stop()
    with pytest.raises(LimitHit) as later:
        counter.tick(1)
    assert (later.value.limit, later.value.value) == ("statements", 10)
