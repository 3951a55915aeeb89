"""The module state each call gets its own copy of, built directly."""

from __future__ import annotations

import calendar
import decimal
import random

import pytest

from emulator import callstate
from emulator.modules import CATALOG


def test_random_functions_are_bound_to_a_generator_of_the_call() -> None:
    own = callstate.fresh_random(CATALOG["random"]._names)
    assert set(own) >= {"random", "seed", "getstate", "shuffle", "choice"}
    generator = own["random"].__self__
    assert isinstance(generator, random.Random)
    assert generator is not random._inst  # type: ignore[attr-defined]
    assert all(f.__self__ is generator for f in own.values())


def test_calendar_functions_and_setfirstweekday_use_a_calendar_of_the_call() -> None:
    own = callstate.fresh_calendar(CATALOG["calendar"]._names)
    own["setfirstweekday"](calendar.SUNDAY)
    assert own["firstweekday"]() == own["c"].firstweekday == calendar.SUNDAY
    assert calendar.firstweekday() == calendar.MONDAY
    with pytest.raises(calendar.IllegalWeekdayError):
        own["setfirstweekday"](7)


def test_decimal_contexts_are_copies() -> None:
    own = callstate.fresh_decimal(CATALOG["decimal"]._names)
    own["DefaultContext"].prec = 3
    assert decimal.DefaultContext.prec == 28
    assert callstate.fresh_decimal({})["DefaultContext"].prec == 28


def test_cpu_clocks_count_from_the_first_import() -> None:
    own = callstate.fresh_time(CATALOG["time"]._names)
    assert set(own) == {
        "process_time",
        "process_time_ns",
        "thread_time",
        "thread_time_ns",
    }
    assert 0 <= own["process_time"]() < 1
    assert own["thread_time_ns"].__name__ == "thread_time_ns"
