"""Emulator-only HTTP endpoints, under the reserved prefix `/__emulator__/`.

The clock: `GET /__emulator__/clock` tells the emulated time,
`POST /__emulator__/clock/advance?seconds=3600` moves it forward (tokens and
codes expire without waiting) and `POST /__emulator__/clock/reset` brings it
back to the wall time. Off unless `oauth.clock_endpoint: true`, because any
caller could otherwise expire everyone's tokens.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from . import errors, responses
from .clock import Clock, parse_duration
from .errors import EmulatorError

CLOCK_PATH = "/__emulator__/clock"


def clock_state(clock: Clock) -> dict[str, Any]:
    now = clock.now()
    return {
        "now": now,
        "time": dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds"),
        "offset_seconds": clock.offset(),
    }


class ClockEndpoint:
    def __init__(self, clock: Clock, enabled: bool) -> None:
        self.clock = clock
        self.enabled = enabled

    def rules(self) -> list[Rule]:
        return [
            Rule(CLOCK_PATH, endpoint=self.show),
            Rule(f"{CLOCK_PATH}/advance", endpoint=self.advance),
            Rule(f"{CLOCK_PATH}/reset", endpoint=self.reset),
        ]

    def show(self, request: Request) -> Response:
        self._check(request, "GET")
        return responses.json_response(clock_state(self.clock))

    def advance(self, request: Request) -> Response:
        self._check(request, "POST")
        text = request.values.get("seconds", "")
        if not text:
            raise errors.BadRequest(
                "missing parameter seconds: POST "
                f"{CLOCK_PATH}/advance?seconds=3600 (or 90s, 15m, 1h, 2d)",
                details={"parameter": "seconds"},
            )
        self.clock.advance(parse_duration(text))
        return responses.json_response(clock_state(self.clock))

    def reset(self, request: Request) -> Response:
        self._check(request, "POST")
        self.clock.reset()
        return responses.json_response(clock_state(self.clock))

    def _check(self, request: Request, method: str) -> None:
        if not self.enabled:
            raise errors.NotFound(
                "Please check if the URL trying to access is a correct one",
                details={
                    "hint": "the clock endpoint is off; set oauth.clock_endpoint: true "
                    "in config.yaml and restart, or use 'zcrm-emulator clock'"
                },
            )
        if request.method != method:
            raise EmulatorError(
                "The http request method type is not a valid one",
                status=400,
                code=errors.INVALID_REQUEST_METHOD,
                details={"hint": f"call {request.path} with {method}"},
            )
