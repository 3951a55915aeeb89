"""The whole authorization-code flow over real HTTP against the real server process:
consent form posted, code exchanged, function called, token refreshed, token
revoked, call refused."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import write_config
from oauth_helpers import BOTH, CLIENT_ID, SECRET, oauth_config, redirect_values

ROOT = Path(__file__).resolve().parent.parent
CALLBACK = "/__emulator__/oauth/callback"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(
    port: int, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited early:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"the server did not listen within 20 s:\n{log.read_text()}")


class Http:
    """A tiny HTTP client that never follows redirects."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        body = urlencode(form) if form is not None else None
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8")
            return response.status, dict(response.getheaders()), text
        finally:
            connection.close()

    def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, _, text = self.request(method, path, **kwargs)
        return status, json.loads(text)


@pytest.fixture
def server(project: Path, write_function: Any) -> Iterator[tuple[Http, Path]]:
    port = free_port()
    write_function(
        "hello", "def handler(name: str = 'World'):\n    return 'Hi ' + name\n"
    )
    data = oauth_config()
    data["oauth"]["clients"][0]["redirect_uris"] = [
        f"http://127.0.0.1:{port}{CALLBACK}"
    ]
    config = write_config(project, data)
    log = project / "server.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--config", str(config),
             "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=project,
        )  # fmt: skip
    try:
        wait_until_listening(port, process, log)
        yield Http(port), log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_authorization_code_flow_end_to_end(server: tuple[Http, Path]) -> None:
    http_, log = server
    redirect_uri = f"http://127.0.0.1:{http_.port}{CALLBACK}"
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": BOTH,
        "access_type": "offline",
        "state": "e2e",
    }

    status, _, page = http_.request("GET", "/oauth/v2/auth?" + urlencode(params))
    assert status == 200
    assert "<h1>Test App wants to access your Zoho CRM</h1>" in page

    form = params | {"user": "sam@example.com", "decision": "approve"}
    status, headers, _ = http_.request("POST", "/oauth/v2/auth", form=form)
    assert status == 302
    location = headers["Location"]
    assert location.startswith(redirect_uri + "?code=1000.")
    values = redirect_values(location)
    assert values["accounts-server"] == f"http://127.0.0.1:{http_.port}"
    assert values["state"] == "e2e"

    callback = urlsplit(location)
    status, _, page = http_.request("GET", f"{callback.path}?{callback.query}")
    assert status == 200 and values["code"] in page

    exchange = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "redirect_uri": redirect_uri,
        "code": values["code"],
    }
    status, tokens = http_.json("POST", "/oauth/v2/token", form=exchange)
    assert status == 200
    assert tokens["api_domain"] == f"http://127.0.0.1:{http_.port}"
    execute = "/crm/v2/functions/hello/actions/execute?auth_type=oauth&name=Sam"

    def call(token: str, method: str = "GET") -> tuple[int, Any]:
        return http_.json(
            method, execute, headers={"Authorization": f"Zoho-oauthtoken {token}"}
        )

    status, body = call(tokens["access_token"])
    assert (status, body["details"]["output"]) == (200, "Hi Sam")
    assert body["details"]["id"] == "4150868000000225014"
    assert call(tokens["access_token"], "POST")[0] == 200

    status, again = http_.json("POST", "/oauth/v2/token", form=exchange)
    assert (status, again) == (200, {"error": "invalid_code"})

    refresh_form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "refresh_token": tokens["refresh_token"],
    }
    status, refreshed = http_.json("POST", "/oauth/v2/token", form=refresh_form)
    assert status == 200 and "refresh_token" not in refreshed
    assert call(refreshed["access_token"])[0] == 200

    revoke = "/oauth/v2/token/revoke?" + urlencode({"token": tokens["refresh_token"]})
    assert http_.json("POST", revoke) == (200, {"status": "success"})
    for token in (tokens["access_token"], refreshed["access_token"]):
        status, body = call(token)
        assert (status, body["code"], body["message"]) == (
            401,
            "INVALID_TOKEN",
            "invalid oauth token",
        )
    assert http_.json("POST", "/oauth/v2/token", form=refresh_form) == (
        200,
        {"error": "invalid_code"},
    )
    assert http_.json("POST", revoke)[0] == 400

    output = log.read_text()
    assert f"OAuth accounts URL: http://127.0.0.1:{http_.port}" in output
    assert "GET hello -> 401 INVALID_TOKEN [-]" in output
    assert tokens["refresh_token"] not in output
