"""The emulator-only clock endpoint under /__emulator__/ (off unless enabled)."""

from __future__ import annotations

import json

import pytest
from conftest import write_config
from oauth_helpers import call, oauth_config, tokens_for
from werkzeug.test import Client


@pytest.fixture
def clock_client(project, make_app, write_function) -> Client:
    write_function("hello", "def handler():\n    return 'hi'\n")
    write_config(project, oauth_config(clock_endpoint=True))
    return Client(make_app())


def test_the_clock_endpoint_is_off_by_default(project, make_app):
    write_config(project, oauth_config())
    client = Client(make_app())
    for method, path in (
        ("GET", "/__emulator__/clock"),
        ("POST", "/__emulator__/clock/advance?seconds=60"),
        ("POST", "/__emulator__/clock/reset"),
    ):
        response = client.open(path, method=method)
        assert response.status_code == 404
        assert json.loads(response.get_data(as_text=True)) == {
            "code": "INVALID_URL_PATTERN",
            "details": {
                "hint": "the clock endpoint is off; set oauth.clock_endpoint: true in "
                "config.yaml and restart, or use 'zcrm-emulator clock'"
            },
            "message": "Please check if the URL trying to access is a correct one",
            "status": "error",
        }


def test_advancing_the_clock_expires_tokens(clock_client):
    token = tokens_for(clock_client)["access_token"]
    before = clock_client.get("/__emulator__/clock").json
    assert before["offset_seconds"] == 0
    moved = clock_client.post(
        "/__emulator__/clock/advance", data={"seconds": "1h"}
    ).json
    assert moved["offset_seconds"] == 3600
    assert moved["now"] >= before["now"] + 3600
    assert moved["time"].endswith("+00:00")
    assert call(clock_client, token).json["code"] == "INVALID_TOKEN"
    reset = clock_client.post("/__emulator__/clock/reset").json
    assert reset["offset_seconds"] == 0
    assert call(clock_client, token).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        pytest.param(
            "POST",
            "/__emulator__/clock/advance",
            400,
            {
                "code": "INVALID_DATA",
                "details": {"parameter": "seconds"},
                "message": "missing parameter seconds: POST /__emulator__/clock/advance"
                "?seconds=3600 (or 90s, 15m, 1h, 2d)",
                "status": "error",
            },
            id="no-seconds",
        ),
        pytest.param(
            "POST",
            "/__emulator__/clock/advance?seconds=soon",
            400,
            {
                "code": "INVALID_DATA",
                "details": {},
                "message": "expected a duration such as 90, 90s, 15m, 1h or 2d; found "
                "'soon'.",
                "status": "error",
            },
            id="bad-seconds",
        ),
        pytest.param(
            "GET",
            "/__emulator__/clock/advance?seconds=60",
            400,
            {
                "code": "INVALID_REQUEST_METHOD",
                "details": {"hint": "call /__emulator__/clock/advance with POST"},
                "message": "The http request method type is not a valid one",
                "status": "error",
            },
            id="get-advance",
        ),
    ],
)
def test_clock_endpoint_errors(clock_client, method, path, status, body):
    response = clock_client.open(path, method=method)
    assert response.status_code == status
    assert json.loads(response.get_data(as_text=True)) == body
