"""The modules a function may import, and the read-only proxies it gets instead.

A function never holds a real module object: `import json` gives a
`ModuleProxy` that hands out json's own public names and nothing else. Left
out of every proxy, whatever the module:
- names that start with '_';
- modules (json imports codecs, datetime imports sys and time, re imports
  enum and functools: none of those leak through);
- functions and classes that the module only imported from elsewhere
  (statistics re-exports operator.mul, functools re-exports
  collections.namedtuple): import them from their own module, if allowed;
- values that are not plain data or the module's own objects (capsules).
Mutable module-level containers (calendar.mdays, urllib.parse.uses_netloc,
hashlib.algorithms_available) are handed out as read-only copies: tuples,
frozensets, read-only mappings.

On top of that each module has a rule: either only some names (`time`,
`typing`), or some names left out with the reason, or safer replacements. The
catalog is built once at import and is read-only afterwards.

Module state that a call could change or read is never shared: `random`,
`calendar`, `decimal` and `time` keep some in module-level objects, so each
call that imports them gets its own (`Rule.fresh`, built in `callstate`,
through the `Importer` of that call). tests/test_module_state.py scans every
allowed module for state, so a new kind fails the suite.
"""

from __future__ import annotations

import functools
import importlib
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import callstate
from .guards import read_only

_STRING_BLOCK = (
    "walks attributes of its arguments without the guards "
    "(GHSA-hp3v-5vw7-fx9w); use str.format or f-strings"
)


_DISPATCH_BLOCK = (
    "register() reads a function's type annotations with typing.get_type_hints, "
    "which evaluates annotation strings with eval outside the sandbox; dispatch "
    "with isinstance"
)


def _wraps(wrapped: Any) -> Any:
    """functools.wraps with the standard attribute lists only.

    `assigned`/`updated` name attributes that update_wrapper copies with plain
    getattr/setattr; with '__globals__' in `updated` a function could pour a
    library module's globals into its own, so they are not accepted.
    """
    return functools.wraps(wrapped)


def _update_wrapper(wrapper: Any, wrapped: Any) -> Any:
    """functools.update_wrapper with the standard attribute lists only."""
    return functools.update_wrapper(wrapper, wrapped)


@dataclass(frozen=True)
class Rule:
    """How one module is exposed. `only`: these names and no others;
    `deny`: name -> why it is left out; `replace`: name -> safer object;
    `fresh`: names -> the objects that each call gets its own copy of."""

    only: frozenset[str] | None = None
    deny: Mapping[str, str] = field(default_factory=dict)
    replace: Mapping[str, Any] = field(default_factory=dict)
    # Where the module's own C code lives, besides `_<name>` (checked below).
    origins: frozenset[str] = frozenset()
    fresh: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


RULES: Mapping[str, Rule] = {
    "base64": Rule(deny={"main": "reads sys.argv and stdin (a command-line tool)"}),
    "calendar": Rule(
        deny={
            "main": "a command-line tool that prints to the process's stdout",
            "prcal": "prints to the process's stdout; use print(calendar.calendar(y))",
            "prmonth": "prints to the process's stdout; use print(calendar.month(y, m))",
            "prweek": "prints to the process's stdout; use print(calendar.week(...))",
        },
        fresh=callstate.fresh_calendar,
    ),
    "collections": Rule(),
    "datetime": Rule(),
    "decimal": Rule(fresh=callstate.fresh_decimal),
    "functools": Rule(
        deny={
            "singledispatch": _DISPATCH_BLOCK,
            "singledispatchmethod": _DISPATCH_BLOCK,
        },
        replace={"wraps": _wraps, "update_wrapper": _update_wrapper},
    ),
    "hashlib": Rule(
        origins=frozenset(
            {"_hashlib", "_blake2", "_md5", "_sha1", "_sha256", "_sha512", "_sha3"}
        )
    ),
    "hmac": Rule(origins=frozenset({"_hashlib", "_operator"})),
    "html": Rule(),
    "itertools": Rule(),
    "json": Rule(),
    "math": Rule(),
    "random": Rule(fresh=callstate.fresh_random),
    "re": Rule(),
    "statistics": Rule(),
    "string": Rule(deny={"Formatter": _STRING_BLOCK}),
    "textwrap": Rule(),
    "time": Rule(
        only=frozenset(
            {
                "time",
                "time_ns",
                "monotonic",
                "monotonic_ns",
                "perf_counter",
                "perf_counter_ns",
                "process_time",
                "process_time_ns",
                "thread_time",
                "thread_time_ns",
                "gmtime",
                "localtime",
                "mktime",
                "strftime",
                "strptime",
                "asctime",
                "ctime",
                "struct_time",
                "timezone",
                "altzone",
                "daylight",
                "tzname",
            }
        ),
        fresh=callstate.fresh_time,
    ),
    "typing": Rule(
        only=frozenset(
            {
                "Any",
                "Optional",
                "Union",
                "List",
                "Dict",
                "Tuple",
                "Set",
                "FrozenSet",
                "Iterable",
                "Iterator",
                "Sequence",
                "Mapping",
                "Callable",
                "TYPE_CHECKING",
            }
        )
    ),
    "unicodedata": Rule(),
    "urllib.parse": Rule(),
    "uuid": Rule(
        deny={
            "uuid1": "may start a process (ifconfig) to find the host's MAC address, "
            "and puts it in the UUID; use uuid4",
            "getnode": "may start a process to find the host's MAC address",
        }
    ),
    "zoneinfo": Rule(
        deny={
            "reset_tzpath": "changes where the whole process reads time zone files",
        }
    ),
}
ALLOWED = frozenset(RULES)
# Why time and typing are only partly there (docs/sandbox.md repeats these).
PARTIAL_REASONS = {
    "time": "clock reads only: no sleep (it holds a worker doing nothing), no tzset "
    "(it changes the process's time zone)",
    "typing": "the names used in annotations only: get_type_hints and friends "
    "evaluate strings with eval outside the sandbox",
}
_PLAIN = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset)
_MUTABLE = (list, set, dict, bytearray)


class ModuleProxy:
    """What `import json` gives a function: json's allowed names, read-only."""

    __slots__ = ("_module", "_names")
    _module: str
    _names: Mapping[str, Any]

    def __init__(self, module: str, names: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_names", names)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._names[name]
        except KeyError:
            raise AttributeError(missing_name(self._module, name)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"module '{self._module}' is read-only in functions")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"module '{self._module}' is read-only in functions")

    def __dir__(self) -> Iterable[str]:
        return sorted(self._names)

    def __repr__(self) -> str:
        return f"<module '{self._module}' (sandboxed)>"


def missing_name(module: str, name: str) -> str:
    rule = RULES.get(module)
    why = rule.deny.get(name) if rule else None
    if why:
        return f"{module}.{name} is not available in functions: {why}"
    if module in PARTIAL_REASONS:
        return (
            f"{module}.{name} is not available in functions: {module} offers "
            f"{PARTIAL_REASONS[module]}"
        )
    return (
        f"module '{module}' has no public name '{name}' in functions (modules it "
        f"imports itself, and names it takes from other modules, are left out). "
        f"Import what you need from its own module, if it is allowed."
    )


def _origin_ok(module: str, rule: Rule, value: Any) -> bool:
    """Is `value` the module's own object (or plain data)?"""
    if isinstance(value, _PLAIN) or type(value) in _MUTABLE:
        return True
    owner = getattr(value, "__self__", None)  # a bound method: whose is it?
    if owner is not None and not isinstance(owner, types.ModuleType):
        value = owner
    own = value if isinstance(value, type) or callable(value) else type(value)
    origin = getattr(own, "__module__", None)
    if not isinstance(origin, str):
        return False
    last = module.rsplit(".", 1)[-1]
    return (
        origin == module
        or origin.startswith(module + ".")
        or origin == "_" + last
        or origin in rule.origins
    )


def _public(module: str, rule: Rule) -> dict[str, Any]:
    real = importlib.import_module(module)
    names = rule.only if rule.only is not None else dir(real)
    exposed: dict[str, Any] = {}
    for name in names:
        if name.startswith("_") or name in rule.deny or not hasattr(real, name):
            continue
        if name in rule.replace:
            exposed[name] = rule.replace[name]
            continue
        value = getattr(real, name)
        if isinstance(value, types.ModuleType):
            continue
        if rule.only is not None or _origin_ok(module, rule, value):
            exposed[name] = read_only(value)
    return exposed


def _build() -> Mapping[str, ModuleProxy]:
    proxies: dict[str, ModuleProxy] = {}
    for module, rule in RULES.items():
        proxies[module] = ModuleProxy(
            module, types.MappingProxyType(_public(module, rule))
        )
    for module in ALLOWED:
        if "." in module:
            top = module.partition(".")[0]
            subs = {
                s.partition(".")[2]: proxies[s]
                for s in ALLOWED
                if s.startswith(top + ".")
            }
            proxies.setdefault(top, ModuleProxy(top, types.MappingProxyType(subs)))
    return types.MappingProxyType(proxies)


# Read-only after import: proxies of read-only mappings.
CATALOG: Mapping[str, ModuleProxy] = _build()


def exposed_names(module: str) -> list[str]:
    return sorted(CATALOG[module]._names)


def import_error(name: str, reason: str = "") -> str:
    allowed = ", ".join(sorted(ALLOWED))
    why = reason or BLOCKED_HINTS.get(name.partition(".")[0], "")
    why = f" {why}" if why else ""
    return f"import of '{name}' is not allowed in functions.{why} Allowed modules: {allowed}."


BLOCKED_HINTS = {
    "os": "Functions cannot reach the host's files, processes or environment.",
    "sys": "Functions cannot reach the interpreter or the host.",
    "subprocess": "Functions cannot start processes.",
    "shutil": "Functions cannot reach the host's files.",
    "pathlib": "Functions cannot reach the host's files.",
    "io": "Functions cannot reach the host's files; build text with str.join.",
    "socket": "The emulator gives functions no network access.",
    "requests": "The emulator gives functions no network access.",
    "http": "The emulator gives functions no network access.",
    "urllib": "Of urllib only urllib.parse is allowed: import urllib.parse.",
    "pickle": "pickle runs code while loading; use json.",
    "operator": "operator.attrgetter and methodcaller skip the attribute guard; "
    "use a lambda.",
    "importlib": "Functions import with the import statement only.",
    "builtins": "The builtins a function may use are already there.",
    "types": "Functions cannot build code, frames or modules.",
    "inspect": "Functions cannot inspect frames or code.",
    "gc": "Functions cannot reach the interpreter's objects.",
    "ctypes": "Functions cannot call C code.",
    "threading": "Functions run one thread; the worker pool runs calls in parallel.",
    "asyncio": "async code is not available in functions.",
    "dataclasses": "Write a class with an __init__ method instead.",
    "copy": "Copy with dict(x), list(x) or json.loads(json.dumps(x)).",
}


# Modules that C code inside allowed modules imports for itself, through the
# running frame's `__import__` (datetime.strftime imports time, strptime
# imports _strptime). Such a call passes `fromlist` as a list, which no import
# statement does, and its result goes back to that C code only.
INTERNAL_IMPORTS = frozenset({"time", "_strptime"})


class Importer:
    """The `__import__` a function sees: allowlisted modules, as proxies.

    One per call: modules with state of their own (`Rule.fresh`) are built for
    this call at its first import of them, and kept for the rest of the call.
    """

    def __init__(self) -> None:
        self.own: dict[str, ModuleProxy] = {}

    def proxy(self, name: str) -> ModuleProxy:
        """The proxy of allowed module `name` for this call."""
        shared = CATALOG[name]
        rule = RULES.get(name)
        if rule is None or rule.fresh is None:
            return shared
        own = self.own.get(name)
        if own is None:
            names = {**shared._names, **rule.fresh(shared._names)}
            own = self.own[name] = ModuleProxy(name, types.MappingProxyType(names))
        return own

    def __call__(
        self,
        name: str,
        globals: Any = None,
        locals: Any = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if type(fromlist) is list and name in INTERNAL_IMPORTS and not level:
            return importlib.import_module(name)
        if level:
            raise ImportError(
                "relative imports are not available in functions: each function "
                "is one file. Import allowed modules by their full name."
            )
        if name not in CATALOG or (name not in ALLOWED and not fromlist):
            raise ImportError(import_error(name))
        proxy = self.proxy(name)
        for item in fromlist or ():
            if item not in proxy._names:
                raise ImportError(_from_error(name, item))
        if fromlist or "." not in name:
            return proxy
        return self.proxy(name.partition(".")[0])


def _from_error(module: str, name: str) -> str:
    return f"cannot import '{name}' from '{module}': {missing_name(module, name)}"


def check_import(module: str, names: Iterable[str]) -> str | None:
    """The compile-time check of an import statement: an error text, or None."""
    if module not in CATALOG or (module not in ALLOWED and not names):
        return import_error(module)
    proxy = CATALOG[module]
    for name in names:
        if name not in proxy._names:
            return _from_error(module, name)
    return None
