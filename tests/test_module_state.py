"""No module state carries from one call to the next, in either isolation mode.

A long-lived worker (`limits.isolation: worker`) runs call after call in one
process, so every piece of state that an allowed module keeps, and that a
call could change or observe, must be fresh per call, read-only, or a cache
of values that a fresh computation would give. `scan()` walks every allowed
module's public names, its classes, and the Python code behind them, and
lists each piece of state it finds; REVIEWED says how each one is closed. A
new module, a new Python version or a new name that brings new state fails
`test_every_piece_of_module_state_is_reviewed` until it is reviewed here.

Each closed channel then has its own test, run in-process, in a zygote
worker and in a long-lived worker.
"""

from __future__ import annotations

import dis
import functools
import random
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sandbox_support import SMALL, script

from emulator import guards, sandbox
from emulator.limits import PROCESS, WORKER
from emulator.modules import CATALOG, RULES, Importer
from emulator.outcome import Outcome
from emulator.workers import WorkerRunner

FRESH = "fresh per call: the call's importer builds its own (callstate)"
READ_ONLY = "a function gets a read-only copy (guards.read_only)"
CONSTANT = "built once (at import or on first use) and never changed afterwards"
CACHE = (
    "a cache of values equal to a fresh computation; the module keeps it to "
    "itself, a function can only empty it"
)
LOCALE = (
    "set at import; its names follow the locale, which a long-lived worker "
    "puts back after every call (worker.LongLived.reset)"
)
STATELESS = "the shared instance keeps no state between uses"

REVIEWED = {
    "base64._a85chars: written by the module": CONSTANT,
    "base64._a85chars2: written by the module": CONSTANT,
    "base64._b32rev: dict used by the module": CONSTANT,
    "base64._b32tab2: dict used by the module": CONSTANT,
    "base64._b85chars: written by the module": CONSTANT,
    "base64._b85chars2: written by the module": CONSTANT,
    "base64._b85dec: written by the module": CONSTANT,
    "calendar.HTMLCalendar.cssclasses: class-level list": READ_ONLY,
    "calendar.HTMLCalendar.cssclasses_weekday_head: class-level list": READ_ONLY,
    "calendar.c: shared TextCalendar": FRESH,
    "calendar.c: TextCalendar used by the module": FRESH,
    "calendar.c: functions bound to a shared TextCalendar": FRESH,
    "calendar.day_abbr: shared _localized_day": LOCALE,
    "calendar.day_abbr: _localized_day used by the module": LOCALE,
    "calendar.day_name: shared _localized_day": LOCALE,
    "calendar.day_name: _localized_day used by the module": LOCALE,
    "calendar.mdays: list used by the module": READ_ONLY,
    "calendar.month_abbr: shared _localized_month": LOCALE,
    "calendar.month_name: shared _localized_month": LOCALE,
    "calendar.month_name: _localized_month used by the module": LOCALE,
    "decimal.BasicContext: shared Context": FRESH,
    "decimal.DefaultContext: shared Context": FRESH,
    "decimal.ExtendedContext: shared Context": FRESH,
    "functools._convert: dict used by the module": CONSTANT,
    "hashlib.__builtin_constructor_cache: dict used by the module": CACHE,
    "hashlib.__block_openssl_constructor: set used by the module": CONSTANT,
    "html._html5: dict used by the module": CONSTANT,
    "html._invalid_charrefs: dict used by the module": CONSTANT,
    "html._invalid_codepoints: set used by the module": CONSTANT,
    "json._default_decoder: JSONDecoder used by the module": STATELESS,
    "json._default_encoder: JSONEncoder used by the module": STATELESS,
    "random._inst: functions bound to a shared Random": FRESH,
    "re._cache: dict used by the module": CACHE,
    "re._compile_repl: cache used by the module": CACHE,
    "re._special_chars_map: dict used by the module": CONSTANT,
    "string._sentinel_dict: dict used by the module": CONSTANT,
    "textwrap.TextWrapper.unicode_whitespace_trans: class-level dict": READ_ONLY,
    "urllib.parse._byte_quoter_factory: cache used by the module": CACHE,
    "urllib.parse._hextobyte: written by the module": CONSTANT,
    "urllib.parse._hostprog: written by the module": CONSTANT,
    "urllib.parse._portprog: written by the module": CONSTANT,
    "urllib.parse._typeprog: written by the module": CONSTANT,
    "urllib.parse.urlsplit: cache statistics": (
        "cache_info, cache_parameters and cache_clear of a library function's "
        "cache are blocked (guards.CACHE_STATS)"
    ),
    "urllib.parse.urlsplit: cache used by the module": CACHE,
    "urllib.parse.uses_netloc: list used by the module": READ_ONLY,
    "urllib.parse.uses_params: list used by the module": READ_ONLY,
    "urllib.parse.uses_relative: list used by the module": READ_ONLY,
}

_CODE = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.BuiltinMethodType,
    functools.partial,
    types.ModuleType,
)
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset)
_CACHE_WRAPPER = type(functools.lru_cache(None)(len))


def _stateful(value: Any) -> bool:
    """A container, a writable object, or a plain object with attributes."""
    if isinstance(value, (*_CODE, *_IMMUTABLE, types.MappingProxyType)):
        return False
    if isinstance(value, (*guards.CONTAINERS, *guards.WRITABLE)):
        return True
    return hasattr(value, "__dict__") and not callable(value)


def _global_state(func: types.FunctionType, seen: set[int]) -> set[str]:
    """Module globals that `func` (and the functions of its module it names)
    writes, or reads when they hold state."""
    found: set[str] = set()
    if id(func.__code__) in seen:
        return found
    seen.add(id(func.__code__))
    scope = func.__globals__
    codes = [func.__code__]
    while codes:
        code = codes.pop()
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        ops = list(dis.get_instructions(code))
        # A global the code assigns itself is reported as written, whatever
        # it holds now (it may not have been built yet).
        written = {
            op.argval for op in ops if op.opname in ("STORE_GLOBAL", "DELETE_GLOBAL")
        }
        found |= {f"{name}: written by the module" for name in written}
        for op in ops:
            name = op.argval
            if op.opname == "LOAD_GLOBAL" and name in scope and name not in written:
                found |= _loaded(name, scope[name], func, seen)
    return found


def _loaded(
    name: str, value: Any, func: types.FunctionType, seen: set[int]
) -> set[str]:
    if isinstance(value, _CACHE_WRAPPER):
        return {f"{name}: cache used by the module"}
    if _stateful(value):
        return {f"{name}: {type(value).__name__} used by the module"}
    if isinstance(value, types.FunctionType) and value.__module__ == func.__module__:
        return _global_state(value, seen)
    return set()


def _public_values(module: str) -> Iterator[tuple[str, Any]]:
    """Every public name of the module, and every public attribute of its classes."""
    for name, value in CATALOG[module]._names.items():
        yield name, value
        if isinstance(value, type):
            for cls in value.__mro__:
                if cls.__module__ == "builtins":
                    continue
                for attribute, item in vars(cls).items():
                    if not attribute.startswith("_"):
                        yield f"{cls.__qualname__}.{attribute}", item


def _findings(module: str, name: str, value: Any) -> set[str]:
    real = __import__(module, fromlist=["_"])
    found = set()
    if "." in name:  # a class attribute: its containers and its code
        if isinstance(value, guards.CONTAINERS):
            found.add(f"{name}: class-level {type(value).__name__}")
    elif _stateful(value):
        found.add(f"{name}: shared {type(value).__name__}")
    owner = getattr(value, "__self__", None)
    if _stateful(owner):
        shared = next(k for k, v in vars(real).items() if v is owner)
        found.add(f"{shared}: functions bound to a shared {type(owner).__name__}")
    if isinstance(value, _CACHE_WRAPPER):
        found.add(f"{name}: cache statistics")
    function = getattr(value, "__func__", value)
    if isinstance(function, types.FunctionType):
        found |= _global_state(function, set())
    return found


def scan() -> set[str]:
    """Every piece of state in the allowed modules that a call could reach."""
    found = set()
    for module in RULES:
        for name, value in _public_values(module):
            found |= {f"{module}.{f}" for f in _findings(module, name, value)}
    return found


# State that the scan cannot see, because C code keeps it, reviewed by hand:
# - decimal's current context is per thread; every call runs in a fresh
#   context (sandbox.run), and the worker's is put back after it.
# - time.process_time and thread_time read the process's CPU clocks: each
#   call's start from its first import of time (callstate.fresh_time).
# - the locale (calendar.different_locale sets LC_TIME while entered): put
#   back by a long-lived worker after every call.
# - caches kept in C: re's compiled patterns, zoneinfo.ZoneInfo's instances,
#   typing's aliases, enum's pseudo-members. They hold values equal to a fresh
#   computation; a function can empty them (re.purge, ZoneInfo.clear_cache),
#   which only costs time.


def test_every_piece_of_module_state_is_reviewed() -> None:
    found = scan()
    assert sorted(found - set(REVIEWED)) == [], "new module state: review it"
    assert sorted(set(REVIEWED) - found) == [], "reviewed state no longer found"


def test_state_reviewed_as_fresh_is_rebuilt_for_each_call() -> None:
    for finding, how in REVIEWED.items():
        if how != FRESH:
            continue
        module, _, name = finding.partition(":")[0].rpartition(".")
        state = getattr(__import__(module), name)
        shared = CATALOG[module]._names
        first, second = Importer().proxy(module), Importer().proxy(module)
        uses = [
            n for n, v in shared.items() if state in (v, getattr(v, "__self__", None))
        ]
        assert uses, finding
        for use in uses:
            assert first._names[use] is not shared[use], f"{module}.{use}"
            assert first._names[use] is not second._names[use], f"{module}.{use}"


def test_module_level_containers_are_handed_out_read_only() -> None:
    for finding, how in REVIEWED.items():
        name = finding.partition(":")[0]
        module, _, attribute = name.rpartition(".")
        if how == READ_ONLY and module in CATALOG:
            frozen = getattr(CATALOG[module], attribute)
            assert isinstance(frozen, tuple | frozenset | types.MappingProxyType)


def test_the_scan_finds_state_it_is_shown() -> None:
    """The scan itself works: it sees a setter, a shared object and a class dict."""
    scope: dict[str, Any] = {"STATE": {}, "CACHE": []}
    exec("def setter(x):\n    global LAST\n    LAST = x\n", scope)
    exec("def reader():\n    return CACHE\n", scope)
    assert _global_state(scope["setter"], set()) == {"LAST: written by the module"}
    assert _global_state(scope["reader"], set()) == {"CACHE: list used by the module"}
    assert _findings("calendar", "HTMLCalendar.cssclasses", []) == {
        "HTMLCalendar.cssclasses: class-level list"
    }


# Each closed channel, shown end to end: one call tries to leave state behind,
# the next call looks for it.

Run = Callable[[str], Outcome]


@pytest.fixture(scope="module")
def pools() -> Iterator[dict[str, WorkerRunner]]:
    """One worker per isolation mode, so consecutive calls surely share it."""
    made = {mode: WorkerRunner("handler", lambda n: SMALL, 1, isolation=mode)
            for mode in (PROCESS, WORKER)}  # fmt: skip
    yield made
    for pool in made.values():
        pool.close()


def runner(mode: str, pools: dict[str, WorkerRunner]) -> Run:
    def run(source: str) -> Outcome:
        job = script(source, "state")
        assert job.compiled.code is not None, job.problems
        if mode == "in-process":
            return sandbox.run(job.compiled.code, job.display, "handler", {}, SMALL)
        return pools[mode].run(job, {})

    return run


@pytest.fixture(params=["in-process", PROCESS, WORKER])
def call(request: pytest.FixtureRequest, pools: dict[str, WorkerRunner]) -> Run:
    return runner(request.param, pools)


@pytest.fixture(params=[PROCESS, WORKER])
def call_in_worker(
    request: pytest.FixtureRequest, pools: dict[str, WorkerRunner]
) -> Run:
    """Process state (the locale) is the worker's to put back, not the sandbox's:
    the in-process runner shares the test process."""
    return runner(request.param, pools)


def value(call: Run, source: str) -> Any:
    outcome = call(source)
    assert outcome.problem is None, outcome.problem
    return outcome.value


SEED_42 = """
    import random
    def handler():
        random.seed(42)
        return [random.random(), random.random()]
    """
AFTER = """
    import random
    from random import random as draw
    def handler():
        return [random.random(), draw()]
    """


def test_random_seed_does_not_carry_to_the_next_call(call: Run) -> None:
    seeded = random.Random(42)
    expected = [seeded.random(), seeded.random()]
    assert value(call, SEED_42) == expected  # a seed works within its call
    # With a shared generator the next call would continue the seeded sequence.
    predictable = [seeded.random(), seeded.random()]
    after = value(call, AFTER)
    assert after != predictable
    assert after != expected
    assert value(call, AFTER) != after


def test_calls_get_their_own_random_generator() -> None:
    first, second = Importer().proxy("random"), Importer().proxy("random")
    assert first.random.__self__ is not second.random.__self__
    load = Importer()
    assert load("random") is load("random", None, None, ("seed",))


DECIMAL_CHANGE = """
    import decimal
    def handler():
        decimal.DefaultContext.prec = 5
        decimal.BasicContext.prec = 2
        decimal.ExtendedContext.rounding = decimal.ROUND_DOWN
        decimal.getcontext().prec = 3
        decimal.setcontext(decimal.BasicContext)
        return str(decimal.Decimal(1) / 7)
    """
DECIMAL_LOOK = """
    import decimal
    def handler():
        return [decimal.getcontext().prec, decimal.DefaultContext.prec,
                decimal.BasicContext.prec, decimal.ExtendedContext.rounding,
                str(decimal.Decimal(1) / 7), str(decimal.Context().prec)]
    """


def test_decimal_contexts_do_not_carry_to_the_next_call(call: Run) -> None:
    assert value(call, DECIMAL_CHANGE) == "0.14"
    assert value(call, DECIMAL_LOOK) == [
        28, 28, 9, "ROUND_HALF_EVEN", "0.1428571428571428571428571429", "28"
    ]  # fmt: skip


CALENDAR_CHANGE = """
    import calendar
    def handler():
        calendar.setfirstweekday(calendar.SUNDAY)
        calendar.c.setfirstweekday(5)
        return [calendar.firstweekday(), calendar.weekheader(2)]
    """


def test_calendar_first_weekday_does_not_carry_to_the_next_call(call: Run) -> None:
    assert value(call, CALENDAR_CHANGE) == [5, "Sa Su Mo Tu We Th Fr"]
    look = """
        import calendar
        from calendar import firstweekday, monthcalendar
        def handler():
            return [firstweekday(), calendar.c.firstweekday, monthcalendar(2026, 3)[0]]
        """
    assert value(call, look) == [0, 0, [0, 0, 0, 0, 0, 0, 1]]


def test_a_bad_weekday_gets_calendars_own_error(call: Run) -> None:
    outcome = call("import calendar\ndef handler():\n    calendar.setfirstweekday(7)\n")
    assert outcome.problem is not None
    assert outcome.problem.message == (
        "IllegalWeekdayError: bad weekday number 7; must be 0 (Monday) to 6 (Sunday)"
    )


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        pytest.param(
            "textwrap.TextWrapper.unicode_whitespace_trans[90] = ' '",
            "TypeError: cannot change a mappingproxy object in a function",
            id="class-dict",
        ),
        pytest.param(
            "textwrap.TextWrapper().unicode_whitespace_trans[90] = ' '",
            "TypeError: cannot change a mappingproxy object in a function",
            id="class-dict-through-an-instance",
        ),
        pytest.param(
            "Wrapper.unicode_whitespace_trans[90] = ' '",
            "TypeError: cannot change a mappingproxy object in a function",
            id="class-dict-through-a-subclass",
        ),
        pytest.param(
            "super(Wrapper, Wrapper()).unicode_whitespace_trans[90] = ' '",
            "TypeError: cannot change a mappingproxy object in a function",
            id="class-dict-through-super",
        ),
        pytest.param(
            "calendar.HTMLCalendar.cssclasses.append('x')",
            "AttributeError: 'tuple' object has no attribute 'append'",
            id="class-list",
        ),
    ],
)
def test_library_class_containers_are_read_only(
    call: Run, expression: str, error: str
) -> None:
    source = f"""
        import calendar
        import textwrap
        class Wrapper(textwrap.TextWrapper):
            pass
        def handler():
            {expression}
        """
    outcome = call(source)
    assert outcome.problem is not None
    assert outcome.problem.message.startswith(error)
    assert outcome.problem.line == 7


def test_library_class_containers_can_still_be_read_and_copied(call: Run) -> None:
    source = """
        import calendar
        import textwrap
        def handler():
            table = dict(textwrap.TextWrapper.unicode_whitespace_trans)
            table[90] = " "
            return [len(table), list(calendar.HTMLCalendar().cssclasses)[:2],
                    "a\\tb".translate(textwrap.TextWrapper.unicode_whitespace_trans)]
        """
    assert value(call, source) == [7, ["mon", "tue"], "a b"]
    look = "import textwrap\ndef handler():\n    return 90 in textwrap.TextWrapper.unicode_whitespace_trans\n"
    assert value(call, look) is False


def test_a_functions_own_class_containers_stay_writable(call: Run) -> None:
    source = """
        import textwrap
        class Registry:
            items = []
        class Wrapper(textwrap.TextWrapper):
            unicode_whitespace_trans = {}
        def handler():
            Registry.items.append(1)
            Registry().items.append(2)
            Wrapper.unicode_whitespace_trans[9] = "-"
            return [Registry.items, "a\\tb".translate(Wrapper().unicode_whitespace_trans)]
        """
    assert value(call, source) == [[1, 2], "a-b"]
    assert value(call, source) == [[1, 2], "a-b"]


def test_library_cache_statistics_are_blocked_and_own_ones_work(call: Run) -> None:
    outcome = call(
        "import urllib.parse\ndef handler():\n    return urllib.parse.urlsplit.cache_info()\n"
    )
    assert outcome.problem is not None
    assert outcome.problem.message == (
        "AttributeError: 'cache_info' is blocked in functions: this cache belongs to "
        "a library function and counts the calls of other invocations. Cache your "
        "own functions with functools.lru_cache"
    )
    own = """
        import functools
        @functools.lru_cache(maxsize=None)
        def square(n):
            return n * n
        def handler():
            square(2)
            square(2)
            return square.cache_info().hits
        """
    assert value(call, own) == 1


def test_cpu_clocks_start_with_the_call(call: Run) -> None:
    """A long-lived worker's CPU clocks would show what earlier calls used."""
    busy = "def handler():\n    return sum(range(3 * 10**6))\n"
    clocks = """
        import time
        from time import process_time_ns, thread_time
        def handler():
            return [time.process_time(), process_time_ns() / 1e9, thread_time()]
        """
    value(call, busy)
    assert all(0 <= reading < 0.02 for reading in value(call, clocks))


LOCALE_LEFT_ENTERED = """
    import calendar
    def entered():
        with calendar.different_locale("C.UTF-8"):
            yield 1
    def handler():
        suspended = entered()
        next(suspended)
        cycle = [suspended]
        cycle.append(cycle)  # freed only by a later garbage collection
        probe = calendar.different_locale("C")
        with probe:
            pass
        return probe.oldlocale
    """
LOCALE_LOOK = """
    import calendar
    def handler():
        probe = calendar.different_locale("C")
        with probe:
            pass
        return probe.oldlocale
    """


def test_the_locale_does_not_carry_to_the_next_call(call_in_worker: Run) -> None:
    assert value(call_in_worker, LOCALE_LEFT_ENTERED) == "C.UTF-8"
    assert value(call_in_worker, LOCALE_LOOK) == "C"
