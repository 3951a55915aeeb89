"""`zcrm-emulator clients | token | clock` and the OAuth lines of the serve banner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO_KEY, write_config
from oauth_helpers import ADA_ID, CLIENT_ID, HELLO, READ, SECRET, call, oauth_config
from werkzeug.test import Client

from emulator.cli import main
from emulator.server import oauth_lines

ROOT = Path(__file__).resolve().parents[1]
TOKEN = r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}"


@pytest.fixture
def config_path(project, write_function):
    write_function("hello", HELLO)
    return str(write_config(project, oauth_config()))


def run(runner, *args: str):
    return runner.invoke(main, list(args), catch_exceptions=False)


def test_clients_add_list_remove(runner, config_path, make_app):
    added = run(
        runner, "clients", "add", "--config", config_path, "--name", "My App",
        "--redirect-uri", "http://localhost:7000/cb",
    )  # fmt: skip
    assert added.exit_code == 0
    match = re.search(
        r"client_id:     (1000\.[A-Z0-9]{30})\nclient_secret: ([0-9a-f]{42})",
        added.output,
    )
    assert match, added.output
    client_id, secret = match.groups()
    assert added.output.startswith(
        "OAuth client My App (the secret is shown once, keep it):"
    )
    listed = run(runner, "clients", "list", "--config", config_path).output
    assert (
        f"{CLIENT_ID}  Test App  [config.yaml]  http://localhost:9000/callback"
        in listed
    )
    assert f"{client_id}  My App  [added]  http://localhost:7000/cb" in listed
    app = make_app()
    assert app.issuer.clients.verify(client_id, secret) is not None
    removed = run(runner, "clients", "remove", "--config", config_path, client_id)
    assert (
        removed.output
        == f"removed client {client_id} (My App); its tokens are revoked\n"
    )
    assert (
        client_id not in run(runner, "clients", "list", "--config", config_path).output
    )


def test_removing_a_config_client_is_refused(runner, config_path):
    result = runner.invoke(
        main, ["clients", "remove", "--config", config_path, CLIENT_ID]
    )
    assert result.exit_code == 1
    assert result.output == (
        f"Error: client {CLIENT_ID} (Test App) comes from config.yaml; delete it from "
        "oauth.clients there and restart instead.\n"
    )


def test_token_prints_a_working_pair(runner, config_path, make_app):
    result = run(runner, "token", "--config", config_path, "--user", "sam@example.com")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == (
        "Tokens for Sam Sales <sam@example.com>, client Test App, scopes "
        f"{READ} ZohoCRM.functions.execute.CREATE:"
    )
    access = re.fullmatch(rf"access_token:  ({TOKEN})  \(lives 3600 s\)", lines[1])
    refresh = re.fullmatch(rf"refresh_token: ({TOKEN})", lines[2])
    assert access and refresh
    assert f"-d client_id={CLIENT_ID} -d client_secret={SECRET} " in result.output
    client = Client(make_app())
    response = call(client, access.group(1))
    assert response.status_code == 200
    assert response.json["details"]["id"] == "4150868000000225014"
    refreshed = client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "refresh_token": refresh.group(1),
        },
    )
    assert "access_token" in refreshed.json


def test_token_json_is_zohos_body(runner, config_path):
    result = run(runner, "token", "--config", config_path, "--scope", READ, "--json")
    body = json.loads(result.output)
    assert list(body) == [
        "access_token", "refresh_token", "scope", "api_domain", "token_type", "expires_in",
    ]  # fmt: skip
    assert body["scope"] == READ
    assert body["api_domain"] == "http://127.0.0.1:8000"


def test_token_without_clients_makes_a_self_client(runner, project, write_function):
    path = str(write_config(project, {"api_keys": [{"key": DEMO_KEY}]}))
    result = run(runner, "token", "--config", path)
    assert result.output.startswith(
        "Created the OAuth client 'Self Client' (secret shown once):\n"
    )
    assert re.search(r"client_secret: [0-9a-f]{42}\n", result.output)
    again = run(runner, "token", "--config", path)
    assert "Created" not in again.output
    assert "client_secret=<client secret>" in again.output


def test_token_with_an_unknown_client(runner, config_path):
    result = runner.invoke(
        main, ["token", "--config", config_path, "--client", "1000.X"]
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: no OAuth client '1000.X'. Run 'zcrm-emulator clients list' to see the "
        "clients, or leave --client out to use the first one.\n"
    )


def test_clock_commands_move_time_for_the_server(runner, config_path, make_app):
    app = make_app()
    client = Client(app)
    result = run(runner, "token", "--config", config_path)
    access = re.search(rf"access_token:  ({TOKEN})", result.output).group(1)
    assert call(client, access).status_code == 200  # cached: the token, the offset
    advanced = run(runner, "clock", "advance", "--config", config_path, "2h")
    assert re.fullmatch(r"emulated time \S+ \(offset 7200 s\)\n", advanced.output)
    assert call(client, access).json["code"] == "INVALID_TOKEN"
    assert (
        "(offset 7200 s)"
        in run(runner, "clock", "show", "--config", config_path).output
    )
    assert (
        "(offset 0 s)" in run(runner, "clock", "reset", "--config", config_path).output
    )
    assert call(client, access).status_code == 200


def test_the_clock_moved_by_another_process_counts_on_the_next_call(
    config_path, make_app
):
    app = make_app()
    client = Client(app)
    issued = app.issuer.self_client(app.issuer.clients.list()[0], ADA_ID, (READ,))
    assert call(client, issued.access_token).status_code == 200
    moved = subprocess.run(
        [sys.executable, "-m", "emulator", "clock", "advance", "2h", "--config", config_path],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert call(client, issued.access_token).json["code"] == "INVALID_TOKEN"
    app.clock.reset()
    assert call(client, issued.access_token).status_code == 200


def test_clock_advance_rejects_a_bad_duration(runner, config_path):
    result = runner.invoke(main, ["clock", "advance", "--config", config_path, "-1h"])
    assert result.exit_code != 0
    result = runner.invoke(main, ["clock", "advance", "--config", config_path, "later"])
    assert result.output == (
        "Error: expected a duration such as 90, 90s, 15m, 1h or 2d; found 'later'.\n"
    )


def test_serve_banner_names_the_accounts_url_and_a_client(make_app, config_path):
    lines = oauth_lines(make_app(), "http://127.0.0.1:8123")
    assert lines == [
        "OAuth accounts URL: http://127.0.0.1:8123  (token URL "
        "http://127.0.0.1:8123/oauth/v2/token)",
        f"  client Test App: {CLIENT_ID}",
        "  consent page: http://127.0.0.1:8123/oauth/v2/auth?client_id="
        f"{CLIENT_ID}&response_type=code&redirect_uri=http://localhost:9000/callback"
        f"&scope={READ},ZohoCRM.functions.execute.CREATE&access_type=offline",
    ]


def test_serve_banner_without_clients(project, make_app):
    write_config(project, {})
    assert oauth_lines(make_app(), "http://127.0.0.1:8123")[1] == (
        "  no OAuth clients: add one under oauth.clients in config.yaml or with "
        "'zcrm-emulator clients add'; 'zcrm-emulator token' prints a token pair"
    )
