"""The guards RestrictedPython's compiled code calls: deny by default.

RestrictedPython rewrites `a.b` into `_getattr_(a, "b")`, `a[b]` into
`_getitem_(a, b)`, writes into `_write_(a).b = ...`, `n += 1` into
`_inplacevar_(...)`. The compile step already refuses names and attributes
that start with '_' when they are written out; these guards refuse them when
they are computed (getattr with a string, format fields), and refuse the
objects that lead out of the sandbox: frames, code, tracebacks, modules.

Every exception raised here carries only strings: never the object that was
refused (`AttributeError.obj` handed hidden objects back in RestrictedPython
before 7.3).
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # str.format's own field parser
import builtins
import collections
import decimal
import functools
import operator
import string
import types
from collections.abc import Callable
from typing import Any

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

_MISSING: Any = object()
# Set on every class a function defines (Writes.build_class); a function can
# never read or write a name that starts with '_'.
USER_CLASS = "__zcrm_user_class__"
# Containers a function may change when they are its own. One that belongs to
# a library class is shared by every call a worker runs: the function gets a
# read-only copy of it instead (textwrap.TextWrapper.unicode_whitespace_trans,
# calendar.HTMLCalendar.cssclasses).
CONTAINERS = (dict, list, set, bytearray, collections.deque)
# The statistics of a library function's cache count the calls of every
# invocation a worker ran (urllib.parse.urlsplit.cache_info()).
CACHE_STATS = frozenset({"cache_info", "cache_parameters", "cache_clear"})
_CACHE_WRAPPER = type(functools.lru_cache(None)(len))
# Objects that lead to the interpreter, the host or other modules' globals.
HIDDEN_TYPES = (types.FrameType, types.CodeType, types.TracebackType, types.ModuleType)
# Objects a function may write into whoever made them: containers, and decimal
# contexts (getcontext().prec = 6 is the documented way to set precision).
WRITABLE = (
    dict,
    list,
    bytearray,
    collections.deque,
    decimal.Context,
    type(decimal.Context().traps),
)


def _private(name: str) -> AttributeError:
    return AttributeError(
        f"'{name}' is private: attributes that start with '_' are not available "
        f"in functions"
    )


def _blocked(name: str, why: str) -> AttributeError:
    return AttributeError(f"'{name}' is blocked in functions: {why}")


def _check_name(obj: Any, name: Any) -> None:
    if type(name) is not str:
        raise TypeError(
            f"attribute names must be str; found {type(name).__name__}. Pass the "
            f"name as text, as in getattr(record, 'name')."
        )
    if name.startswith("_"):
        raise _private(name)
    if name in INSPECT_ATTRIBUTES or isinstance(obj, HIDDEN_TYPES):
        raise _blocked(name, "it reaches the interpreter's frames or code")
    if name in CACHE_STATS and isinstance(obj, _CACHE_WRAPPER) and not _own(obj):
        raise _blocked(
            name,
            "this cache belongs to a library function and counts the calls of other "
            "invocations. Cache your own functions with functools.lru_cache",
        )
    if name == "obj" and isinstance(obj, AttributeError):
        raise _blocked(
            name,
            "it can hand back objects the function may not see. Use str(error) "
            "or error.name instead",
        )


def _own(cached: Any) -> bool:
    """Is this cache wrapped around a function the function itself defined?"""
    scope = getattr(getattr(cached, "__wrapped__", None), "__globals__", None)
    return isinstance(scope, dict) and scope.get("_getattr_") is guarded_getattr


def _shared(obj: Any, name: str, value: Any) -> bool:
    """Does the container `value`, read as `obj.name`, belong to a library class?"""
    if type(obj) is super:
        klass = obj.__self_class__  # type: ignore[attr-defined]
    else:
        own = getattr(obj, "__dict__", None)
        if (
            not isinstance(obj, type)
            and isinstance(own, dict)
            and own.get(name) is value
        ):
            return False  # the object's own attribute
        klass = obj if isinstance(obj, type) else type(obj)
    for cls in getattr(klass, "__mro__", ()):
        if cls.__dict__.get(name) is value:
            return USER_CLASS not in cls.__dict__
    return False


def read_only(value: Any, depth: int = 0) -> Any:
    """A read-only copy of a container (nested ones included); other values as they are."""
    if depth > 20:
        return value
    if isinstance(value, dict):
        return types.MappingProxyType(
            {k: read_only(v, depth + 1) for k, v in value.items()}
        )
    if isinstance(value, list | collections.deque):
        return tuple(read_only(v, depth + 1) for v in value)
    if type(value) is tuple:
        items = tuple(read_only(v, depth + 1) for v in value)
        same = all(a is b for a, b in zip(items, value, strict=True))
        return value if same else items
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def guarded_getattr(obj: Any, name: Any, default: Any = _MISSING) -> Any:
    """`obj.name` for a function: public names only, nothing that leads out."""
    _check_name(obj, name)
    try:
        value = getattr(obj, name)
    except AttributeError as exc:
        if default is not _MISSING:
            return default
        # A fresh exception: the original's .obj would hand `obj`'s internals back.
        raise AttributeError(str(exc), name=name) from None
    if isinstance(value, HIDDEN_TYPES):
        raise _blocked(
            name,
            "it is a module or an interpreter object. Import allowed modules "
            "directly instead",
        )
    if isinstance(value, CONTAINERS) and _shared(obj, name, value):
        return read_only(value)
    return _format_guarded(value)


def guarded_hasattr(obj: Any, name: Any) -> bool:
    try:
        guarded_getattr(obj, name)
    except AttributeError:
        return False
    return True


def guarded_getitem(obj: Any, key: Any) -> Any:
    return obj[key]


class _FieldGuardingFormatter(string.Formatter):
    """str.format's field walk ("{0.attr[key]}") through the guards.

    Kept private: a function never sees this class, so it cannot reach the
    unguarded base methods through super(). string.Formatter itself is not
    exposed (GHSA-hp3v-5vw7-fx9w).
    """

    def get_field(
        self, field_name: str, args: Any, kwargs: Any
    ) -> tuple[Any, str | int]:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = guarded_getattr(obj, key) if is_attr else guarded_getitem(obj, key)
        return obj, first


_FORMATTER = _FieldGuardingFormatter()


def safe_format(text: Any, /, *args: Any, **kwargs: Any) -> str:
    return _FORMATTER.vformat(str(text), args, kwargs)


def safe_format_map(text: Any, mapping: Any, /) -> str:
    return _FORMATTER.vformat(str(text), (), mapping)


# The methods that format with field walks, however they were reached:
# "...".format, str.format, super(S, s).format, UserString(...).format.
_STR_FORMATS = {"format": safe_format, "format_map": safe_format_map}
_UNBOUND_FORMATS = (
    (str.format, safe_format),
    (str.format_map, safe_format_map),
    (collections.UserString.format, safe_format),
    (collections.UserString.format_map, safe_format_map),
)


def _format_guarded(value: Any) -> Any:
    """`value`, or the guarded stand-in if it is one of the format methods.

    Runs on every attribute read, so it checks types and identities only.
    """
    if isinstance(value, types.BuiltinMethodType):
        owner = value.__self__
        if isinstance(owner, str) and value.__name__ in _STR_FORMATS:
            return _bind(_STR_FORMATS[value.__name__], owner)
        return value
    if isinstance(value, types.MethodType):
        for unbound, method in _UNBOUND_FORMATS:
            if value.__func__ is unbound:
                return _bind(method, value.__self__)
        return value
    for unbound, method in _UNBOUND_FORMATS:
        if value is unbound:
            return method
    return value


def _bind(method: Callable[..., str], text: Any) -> Callable[..., str]:
    def bound(*args: Any, **kwargs: Any) -> str:
        return method(text, *args, **kwargs)

    return bound


def safe_type(obj: Any, *more: Any) -> Any:
    """type(x) with one argument only; never hands out `type` itself.

    type(SomeClass) would give the real `type`, whose three-argument call
    builds classes with any dunder methods; the sandbox's own `type` stands
    in for it, so `type(int) is type` still holds.
    """
    if more:
        raise TypeError(
            "type() takes one argument in a function: the three-argument form "
            "builds classes with hidden methods. Write a class statement instead."
        )
    return safe_type if isinstance(obj, type) else type(obj)


class Writes:
    """The write guard of one invocation: what a function may change.

    Allowed: dicts, lists, bytearrays, deques and decimal contexts, and the
    classes the function defines itself and their instances (attribute
    writes). Everything else (module namespaces, library classes, functions)
    is read-only.
    """

    def __init__(self) -> None:
        self.classes: tuple[type, ...] = ()

    def build_class(self, func: Any, name: str, *bases: Any, **kwds: Any) -> type:
        cls: type = builtins.__build_class__(func, name, *bases, **kwds)
        if any(issubclass(base, type) for base in cls.__mro__):
            raise TypeError(
                f"class {name} derives from type: metaclasses are not available "
                f"in functions. Derive from object or another ordinary class."
            )
        type.__setattr__(cls, USER_CLASS, True)
        self.classes += (cls,)
        return cls

    def guard(self, obj: Any) -> Any:
        if isinstance(obj, (*WRITABLE, *self.classes)):
            return obj
        if isinstance(obj, type) and issubclass(obj, self.classes):
            return obj
        kind = "module" if _is_module(obj) else type(obj).__name__
        raise TypeError(
            f"cannot change a {kind} object in a function: only dicts, lists and "
            f"objects of classes the function defines can be changed. Make a copy "
            f"(dict(x), list(x)) or a class of your own."
        )


def _is_module(obj: Any) -> bool:
    return type(obj).__name__ == "ModuleProxy"


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
    "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": operator.imod,
    "**=": operator.ipow, "|=": operator.ior, "&=": operator.iand,
    "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift,
    "@=": operator.imatmul,
}  # fmt: skip


def inplacevar(op: str, target: Any, value: Any) -> Any:
    """`name += value`, as RestrictedPython rewrites it."""
    return _OPERATORS[op](target, value)


def apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`f(*args, **kwargs)`, as RestrictedPython rewrites it."""
    return func(*args, **kwargs)
