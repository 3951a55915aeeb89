"""Bind a function's declared arguments from crmAPIRequest, Zoho's way.

Each declared argument other than `crmAPIRequest` comes from `params[name]`;
failing that from the JSON object in `params["arguments"]`; failing that the
function's own default applies, else None. Never from the body. Annotations
drive coercion. Pure: no I/O.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any

from .errors import BadRequest
from .sandbox import Param

REQUEST_ARG = "crmAPIRequest"
ARGUMENTS_PARAM = "arguments"
_UNSET = object()


def bind(params: Iterable[Param], request: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the entry point; coercion errors are raised as BadRequest."""
    given = request["params"]
    packed = _arguments_json(given)
    kwargs: dict[str, Any] = {}
    for param in params:
        if param.name == REQUEST_ARG:
            kwargs[param.name] = request
            continue
        value = given.get(param.name, packed.get(param.name, _UNSET))
        if value is _UNSET:
            if not param.has_default:
                kwargs[param.name] = None
            continue
        kwargs[param.name] = coerce(param, value)
    return kwargs


def _arguments_json(params: dict[str, Any]) -> dict[str, Any]:
    raw = params.get(ARGUMENTS_PARAM)
    if raw is None:
        return {}
    try:
        packed = _packed(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise BadRequest(
            f"the 'arguments' parameter must be a JSON object such as "
            f'{{"name":"Ada"}}; found {_show(raw)} ({exc}). Fix its JSON text.',
            details={"argument": ARGUMENTS_PARAM, "value": raw},
        ) from exc
    if not isinstance(packed, dict):
        raise BadRequest(
            f"the 'arguments' parameter must be a JSON object such as "
            f'{{"name":"Ada"}}; found {_show(raw)}. Wrap the values in {{...}}.',
            details={"argument": ARGUMENTS_PARAM, "value": raw},
        )
    return packed


def _packed(raw: str) -> Any:
    """JSON text; failing that a Python literal, because Zoho's Python SDK
    (zohocrmsdk8-0) sends `arguments` as `str(dict)`: `{'name': 'Ada'}`.
    `literal_eval` evaluates literals only, never code."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        try:
            return ast.literal_eval(raw.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise exc from None


def coerce(param: Param, value: Any) -> Any:
    """`value` converted to the annotated type; unannotated values pass unchanged."""
    convert = COERCIONS.get(param.annotation or "")
    if convert is None or value is None:
        return value
    try:
        return convert(value)
    except (ValueError, TypeError, OverflowError) as exc:
        expected = param.annotation
        raise BadRequest(
            f"argument '{param.name}' expects {expected} ({EXAMPLES[expected or '']}); "
            f"found {_show(value)}. Send a value of that type, or change the annotation.",
            details={
                "argument": param.name,
                "value": value,
                "type": expected,
                "reason": str(exc),
            },
        ) from exc


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("not a whole number")
    return int(value.strip() if isinstance(value, str) else value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return float(value.strip() if isinstance(value, str) else value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError("use true or false")


def _json_of(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        parsed = json.loads(value) if isinstance(value, str) else value
        if not isinstance(parsed, kind):
            raise TypeError(f"not a JSON {kind.__name__}")
        return parsed

    return convert


def _to_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value).strip())


def _to_datetime(value: Any) -> dt.datetime:
    text = str(value).strip()
    return dt.datetime.fromisoformat(
        text[:-1] + "+00:00" if text.endswith("Z") else text
    )


COERCIONS: dict[str, Callable[[Any], Any]] = {
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "dict": _json_of(dict),
    "list": _json_of(list),
    "date": _to_date,
    "datetime": _to_datetime,
}
EXAMPLES = {
    "str": "any text",
    "int": "a whole number such as 42",
    "float": "a number such as 4.2",
    "bool": "true or false",
    "dict": 'a JSON object such as {"a":1}',
    "list": "a JSON list such as [1,2]",
    "date": "a date such as 2026-12-04",
    "datetime": "an ISO 8601 date-time such as 2026-12-04T09:30:00+05:30",
    "": "",
}
