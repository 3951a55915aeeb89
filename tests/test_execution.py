"""Running one job in this process: the code cache and the wall-time timer."""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Iterator

import pytest
from sandbox_support import script

from emulator.execution import CodeCache, Timer, execute
from emulator.limits import Limits
from emulator.protocol import Job

SPIN = "def handler():\n    while True:\n        pass\n"


def job(source: str, limits: Limits, with_source: bool = True) -> Job:
    made = script(source, "spin")
    return Job(
        "spin",
        made.display,
        made.version,
        made.source if with_source else None,
        "handler",
        {},
        limits,
    )


@pytest.fixture
def timer() -> Iterator[Timer]:
    previous = signal.getsignal(signal.SIGALRM)
    made = Timer()
    yield made
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_a_call_is_stopped_at_its_time_limit(timer: Timer) -> None:
    limits = Limits(timeout_seconds=0.2, statements=10**12)
    outcome = execute(job(SPIN, limits), CodeCache(), timer)
    assert outcome.problem is not None
    assert outcome.problem.limit == "timeout_seconds"
    assert outcome.problem.line in (2, 3)  # wherever the loop was


def test_the_timer_is_armed_again_only_for_an_earlier_deadline(timer: Timer) -> None:
    """A long call arms it; a later call with a shorter limit re-arms it; a call
    with the same limit leaves it, and the timer re-arms itself when it fires
    early (see test_a_call_is_stopped_after_an_early_firing)."""
    quick = job("def handler():\n    return 1\n", Limits(timeout_seconds=30))
    cache = CodeCache()
    execute(quick, cache, timer)
    first = timer.armed
    execute(quick, cache, timer)
    assert timer.armed == first  # not armed again, not disarmed
    shorter = job("def handler():\n    return 2\n", Limits(timeout_seconds=5))
    execute(shorter, cache, timer)
    assert timer.armed < first


def test_a_call_is_stopped_after_an_early_firing(timer: Timer) -> None:
    """The timer armed by an earlier call fires before this call's deadline: the
    handler arms it again for the rest, and the call still stops on time."""
    cache = CodeCache()
    execute(
        job("def handler():\n    return 1\n", Limits(timeout_seconds=0.1)), cache, timer
    )
    limits = Limits(timeout_seconds=0.3, statements=10**12)
    outcome = execute(job(SPIN, limits), cache, timer)
    assert outcome.problem is not None
    assert outcome.problem.limit == "timeout_seconds"


def test_a_firing_between_calls_does_nothing(timer: Timer) -> None:
    execute(job("def handler():\n    return 1\n", Limits(timeout_seconds=0.05)),
            CodeCache(), timer)  # fmt: skip
    signal.pthread_kill(threading.get_ident(), signal.SIGALRM)  # handled: no error
    assert (timer.counter, timer.armed) == (None, math.inf)


def test_the_cache_keeps_code_by_version_and_says_what_it_lacks() -> None:
    cache = CodeCache()
    first = job("def handler():\n    return 1\n", Limits())
    assert cache.lacks(job("def handler():\n    return 1\n", Limits(), False))
    code = cache.compiled(first)
    assert cache.compiled(first) is code
    assert not cache.lacks(job("def handler():\n    return 1\n", Limits(), False))
    lost = job("def handler():\n    return 3\n", Limits(), with_source=False)
    problem = cache.compiled(lost)
    assert getattr(problem, "message", "") == "the worker lost the script's code"
