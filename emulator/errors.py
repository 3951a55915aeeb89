"""The one exception hierarchy of the emulator.

Every error a caller or a user can see is an `EmulatorError`: it carries the HTTP
status, the Zoho error code and a message that says what was expected, what was
found and how to fix it. `app` turns them into Zoho envelopes in one place and
`cli` turns them into messages in one place.
"""

from __future__ import annotations

from typing import Any

# Zoho's own codes (documented or seen in captures of real responses).
AUTHENTICATION_FAILURE = "AUTHENTICATION_FAILURE"
INVALID_TOKEN = "INVALID_TOKEN"
OAUTH_SCOPE_MISMATCH = "OAUTH_SCOPE_MISMATCH"
INVALID_URL_PATTERN = "INVALID_URL_PATTERN"
INVALID_REQUEST_METHOD = "INVALID_REQUEST_METHOD"
NOT_ACTIVE = "NOT_ACTIVE"
LIMIT_REACHED = "LIMIT_REACHED"
INVALID_DATA = "INVALID_DATA"
INTERNAL_ERROR = "INTERNAL_ERROR"
# Ours, where Zoho documents nothing (README, "Error codes").
INVALID_API_KEY = "INVALID_API_KEY"
FUNCTION_LOAD_ERROR = "FUNCTION_LOAD_ERROR"
FUNCTION_EXECUTION_ERROR = "FUNCTION_EXECUTION_ERROR"
REQUEST_ENTITY_TOO_LARGE = "REQUEST_ENTITY_TOO_LARGE"


class EmulatorError(Exception):
    """An error with an HTTP status, a Zoho code, a message and details."""

    status = 500
    code = INTERNAL_ERROR

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})


class ConfigError(EmulatorError):
    """config.yaml is missing, unreadable or has a wrong value."""

    status = 500
    code = INTERNAL_ERROR


class UsageError(EmulatorError):
    """A CLI argument or a store operation that cannot be done as asked."""

    status = 400
    code = INVALID_DATA


class AuthError(EmulatorError):
    status = 401
    code = AUTHENTICATION_FAILURE


class NotFound(EmulatorError):
    status = 404
    code = INVALID_URL_PATTERN


class BadRequest(EmulatorError):
    status = 400
    code = INVALID_DATA


class FunctionLoadError(EmulatorError):
    status = 500
    code = FUNCTION_LOAD_ERROR


class FunctionExecutionError(EmulatorError):
    status = 500
    code = FUNCTION_EXECUTION_ERROR


class LimitReached(EmulatorError):
    status = 500
    code = LIMIT_REACHED


class TooLarge(EmulatorError):
    status = 413
    code = REQUEST_ENTITY_TOO_LARGE


class AccountsError(EmulatorError):
    """An answer of the fake Zoho Accounts token endpoints.

    Zoho answers these with HTTP 200 and a body such as `{"error": "invalid_code"}`,
    so `body` is sent as is; `message` (what was expected, what was found, how to
    fix it) goes to the X-Emulator-Hint header and to the console.
    """

    status = 200

    def __init__(
        self,
        error: str,
        message: str,
        *,
        status: int = 200,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, status=status, code=error)
        self.body: dict[str, Any] = body if body is not None else {"error": error}


class PageError(EmulatorError):
    """An error of the consent page, shown as an HTML page and never a redirect."""

    status = 400
    code = "invalid_request"

    def __init__(self, title: str, message: str, *, status: int = 400) -> None:
        super().__init__(message, status=status)
        self.title = title
