"""Build frozen dataclasses from plain YAML data, with messages that teach.

Pure: no I/O. `config` declares the dataclasses; this module walks their fields
and type hints, so adding a config key is adding one annotated field.
A field's `metadata` may hold `check` (a function returning an error text or None)
and `allowed` (a phrase describing the valid values, used in messages).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Union, get_args, get_origin, get_type_hints

from .errors import ConfigError

_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
}


def build(cls: type, data: Any, path: str, source: str) -> Any:
    """Return an instance of the dataclass `cls` built from `data`."""
    return _value(cls, data, path, source, {})


def _fail(source: str, path: str, expected: str, found: Any, hint: str) -> ConfigError:
    where = f"{source}: {path}" if path else source
    return ConfigError(
        f"{where}: expected {expected}; found {_show(found)}. {hint}".rstrip(),
        details={"key": path, "found": _show(found), "expected": expected},
    )


def _show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _value(tp: Any, data: Any, path: str, source: str, meta: Any) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if data is None:
            return None
        return _value(options[0], data, path, source, meta)
    if dataclasses.is_dataclass(tp):
        return _dataclass(typing.cast(type, tp), data, path, source)
    if origin is tuple:
        return _tuple(get_args(tp)[0], data, path, source)
    if origin is dict:
        return _mapping(get_args(tp)[1], data, path, source)
    return _scalar(tp, data, path, source, meta)


def _scalar(tp: type, data: Any, path: str, source: str, meta: Any) -> Any:
    expected = meta.get("allowed") or _NAMES.get(tp, tp.__name__)
    hint = f"Set {path} to {expected} in {source}."
    ok = isinstance(data, tp) and not (tp is not bool and isinstance(data, bool))
    if tp is float and isinstance(data, int) and not isinstance(data, bool):
        data, ok = float(data), True
    if not ok:
        raise _fail(source, path, expected, data, hint)
    problem = meta.get("check", lambda _: None)(data)
    if problem:
        raise _fail(source, path, expected, data, problem)
    return data


def _tuple(item: Any, data: Any, path: str, source: str) -> tuple[Any, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise _fail(source, path, "a list", data, f"Write {path} as a YAML list.")
    return tuple(
        _value(item, v, f"{path}[{i}]", source, {}) for i, v in enumerate(data)
    )


def _mapping(item: Any, data: Any, path: str, source: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(source, path, "a mapping", data, f"Write {path} as a YAML mapping.")
    return {str(k): _value(item, v, f"{path}.{k}", source, {}) for k, v in data.items()}


def _dataclass(cls: type, data: Any, path: str, source: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        where = path or "the top level"
        raise _fail(
            source, path, "a mapping", data, f"Write {where} as key: value lines."
        )
    fields = {f.name: f for f in dataclasses.fields(cls) if _public(f)}
    _reject_unknown(data, fields, path, source)
    hints = get_type_hints(cls)
    values = {}
    for name, f in fields.items():
        if name not in data:
            continue
        sub = f"{path}.{name}" if path else name
        values[name] = _value(hints[name], data[name], sub, source, f.metadata)
    return _construct(cls, values, path, source)


def _public(f: dataclasses.Field[Any]) -> bool:
    """Fields marked internal are filled in by code, never read from YAML."""
    return f.init and not f.metadata.get("internal")


def _construct(cls: type, values: dict[str, Any], path: str, source: str) -> Any:
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and f.name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        key = f"{path}.{missing[0]}" if path else missing[0]
        raise _fail(source, key, "a value", None, f"Add {key} to {source}.")
    return cls(**values)


def _reject_unknown(
    data: dict[Any, Any], fields: dict[str, Any], path: str, source: str
) -> None:
    known = list(fields)
    for key in data:
        if key in fields:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"Did you mean '{close[0]}'?" if close else ""
        where = f"{path}.{key}" if path else str(key)
        allowed = ", ".join(known)
        raise ConfigError(
            f"{source}: unknown key '{where}'. {hint} Allowed here: {allowed}.".replace(
                ".  ", ". "
            ),
            details={"key": where, "allowed": known},
        )
