"""Zoho's response envelopes and the custom `crmAPIResponse`. Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Response

from . import pages
from .errors import (
    AccountsError,
    EmulatorError,
    FunctionExecutionError,
    LimitReached,
    PageError,
)
from .outcome import Outcome

JSON_TYPE = "application/json;charset=UTF-8"
CUSTOM_DEFAULT_TYPE = "application/json;charset=utf-8"
CUSTOM_KEY = "crmAPIResponse"
SUCCESS_MESSAGE = "function executed successfully"
NO_BODY_STATUSES = (204, 304)
# Zoho's token endpoint answers errors with a bare {"error": ...}; the emulator
# says what went wrong in this header (and on the console).
HINT_HEADER = "X-Emulator-Hint"


# One encoder for every response: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON, as Zoho writes it."""
    return _ENCODER.encode(value)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status=status, content_type=JSON_TYPE)


def error_envelope(exc: EmulatorError) -> dict[str, Any]:
    return {
        "code": exc.code,
        "details": exc.details,
        "message": exc.message,
        "status": "error",
    }


def error(exc: EmulatorError) -> Response:
    """The one place where an error becomes a response."""
    if isinstance(exc, AccountsError):
        response = json_response(exc.body, exc.status)
        response.headers[HINT_HEADER] = header_text(exc.message)
        return response
    if isinstance(exc, PageError):
        return pages.error_page(exc)
    return json_response(error_envelope(exc), exc.status)


def header_text(text: str) -> str:
    """`text` made safe for an HTTP header: one line, ASCII."""
    return " ".join(text.split()).encode("ascii", "replace").decode("ascii")


def output_text(value: Any) -> str:
    """The `details.output` text: strings as returned, dict/list as compact JSON, None as ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return dumps(value)
    return str(value)


def success_envelope(outcome: Outcome, user_id: str) -> dict[str, Any]:
    details: dict[str, Any] = {
        "output": output_text(outcome.value),
        "output_type": "string",
        "id": user_id,
    }
    if outcome.info:
        details["userMessage"] = list(outcome.info)
    return {"code": "success", "details": details, "message": SUCCESS_MESSAGE}


def is_custom(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(CUSTOM_KEY), dict)


class Reply:
    """The success envelope as a 200 response, sent without building a
    werkzeug Response: it is the answer to most calls. Every other response
    (errors, a custom crmAPIResponse) stays a werkzeug Response."""

    status_code = 200

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers = [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body)))]

    def get_data(self, as_text: bool = False) -> Any:
        return self.body.decode() if as_text else self.body

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", self.headers)
        return [self.body]


def from_outcome(outcome: Outcome, user_id: str, max_bytes: int) -> Reply | Response:
    """The HTTP response for a finished invocation (errors are raised)."""
    if outcome.envelope is not None:  # rendered and size-checked by the worker
        return Reply(outcome.envelope)
    if outcome.problem is not None:
        raise execution_error(outcome)
    response: Reply | Response
    if is_custom(outcome.value):
        response = custom(outcome.value[CUSTOM_KEY], outcome)
    else:
        response = Reply(dumps(success_envelope(outcome, user_id)).encode())
    size = len(response.get_data())
    if size > max_bytes:
        raise LimitReached(
            f"response size limit reached: the function returned {size} bytes and the "
            f"limit is {max_bytes} bytes (Zoho's is 10 MB). Return less data, or raise "
            f"limits.response_bytes in config.yaml.",
            details={"limit": "response_bytes", "value": max_bytes, **_info(outcome)},
        )
    return response


def execution_error(outcome: Outcome) -> EmulatorError:
    """FUNCTION_EXECUTION_ERROR, or LIMIT_REACHED naming the limit and its value."""
    problem = outcome.problem
    assert problem is not None
    details: dict[str, Any] = {"file": problem.file, "line": problem.line}
    if problem.limit is not None:
        details.update(limit=problem.limit, value=problem.limit_value)
        return LimitReached(problem.text(), details={**details, **_info(outcome)})
    return FunctionExecutionError(problem.text(), details={**details, **_info(outcome)})


def _info(outcome: Outcome) -> dict[str, Any]:
    return {"userMessage": list(outcome.info)} if outcome.info else {}


def custom(spec: dict[str, Any], outcome: Outcome) -> Response:
    """`{"crmAPIResponse": {...}}` controls status, content type, headers and body."""
    status = spec.get("status_code", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if (
        not isinstance(status, int)
        or isinstance(status, bool)
        or not 100 <= status <= 599
    ):
        raise _bad_custom(
            f"status_code must be an HTTP status from 100 to 599; found {status!r}",
            outcome,
        )
    content_type = spec.get("Content-Type", CUSTOM_DEFAULT_TYPE)
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict):
        raise _bad_custom(
            f"headers must be a dict of names to values; found {headers!r}", outcome
        )
    body = spec.get("body")
    data = (
        ""
        if body is None or status in NO_BODY_STATUSES
        else body
        if isinstance(body, str)
        else dumps(body)
    )
    response = Response(data, status=status)
    response.headers["Content-Type"] = str(content_type)
    for name, value in headers.items():
        response.headers[str(name)] = str(value)
    if status in NO_BODY_STATUSES:
        response.headers.pop("Content-Type", None)
    return response


def _bad_custom(reason: str, outcome: Outcome) -> FunctionExecutionError:
    return FunctionExecutionError(
        f"the function returned an invalid crmAPIResponse: {reason}. "
        f"See README, 'Controlling the response'.",
        details=_info(outcome),
    )
