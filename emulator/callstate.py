"""The module state each call gets its own copy of (`modules.Rule.fresh`).

Some allowed modules keep state in module-level objects that a call could
change or read: random's hidden Random instance (random.seed), calendar's
TextCalendar (setfirstweekday), decimal's DefaultContext, the process's CPU
clocks. A long-lived worker runs many calls in one process, so each call that
imports such a module gets a proxy whose stateful names are its own: built
here, by the call's `modules.Importer`, at the call's first import of the
module. tests/test_module_state.py scans every allowed module for state.
"""

from __future__ import annotations

import calendar
import decimal
import os
import random
import types
from collections.abc import Callable, Mapping
from typing import Any


def _rebound(names: Mapping[str, Any], shared: object, own: object) -> dict[str, Any]:
    """The module's functions that are methods of `shared`, as methods of `own`."""
    return {
        name: getattr(own, value.__name__)
        for name, value in names.items()
        if getattr(value, "__self__", None) is shared
    }


def fresh_random(names: Mapping[str, Any]) -> dict[str, Any]:
    """random.random, random.seed... are methods of one hidden Random instance;
    each call gets its own, seeded from the OS, so a seed set by one call
    cannot make the next one predictable."""
    own = random.Random(int.from_bytes(os.urandom(32), "big"))
    return _rebound(names, random._inst, own)


def fresh_calendar(names: Mapping[str, Any]) -> dict[str, Any]:
    """calendar.month, calendar.firstweekday... are methods of the module's
    TextCalendar `c`, and setfirstweekday changes it; each call gets its own."""
    own = calendar.TextCalendar()

    def setfirstweekday(firstweekday: int) -> None:
        if not calendar.MONDAY <= firstweekday <= calendar.SUNDAY:
            raise calendar.IllegalWeekdayError(firstweekday)
        own.firstweekday = firstweekday

    return {
        **_rebound(names, calendar.c, own),
        "c": own,
        "setfirstweekday": setfirstweekday,
    }


# decimal's module-level contexts as they were at start: never handed out,
# only copied. A function may change the copies (getcontext().prec = 6 is the
# documented way to set precision); decimal.Context() itself starts from
# decimal.DefaultContext, which no function can reach.
_DECIMAL_CONTEXTS = types.MappingProxyType(
    {
        name: getattr(decimal, name).copy()
        for name in ("DefaultContext", "BasicContext", "ExtendedContext")
    }
)


def fresh_decimal(names: Mapping[str, Any]) -> dict[str, Any]:
    return {name: context.copy() for name, context in _DECIMAL_CONTEXTS.items()}


# CPU clocks count from the start of the process or thread: in a long-lived
# worker they would tell a call how much CPU the calls before it used. Their
# zero point is undefined (only differences between readings mean anything,
# the Python docs say), so each call's clocks start from its first import of
# `time`.
_CPU_CLOCKS = ("process_time", "process_time_ns", "thread_time", "thread_time_ns")


def _since(clock: Callable[[], float]) -> Callable[[], float]:
    start = clock()

    def reading() -> float:
        return clock() - start

    reading.__name__ = reading.__qualname__ = clock.__name__
    reading.__doc__ = clock.__doc__
    return reading


def fresh_time(names: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _since(names[name]) for name in _CPU_CLOCKS if name in names}
