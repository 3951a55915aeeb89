"""Helpers for the OAuth tests: a project with one client, and the flow's steps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conftest import DEMO_KEY
from werkzeug.serving import make_server
from werkzeug.test import Client

CLIENT_ID = "1000.TESTCLIENT00000000000000000001"
SECRET = "0123456789abcdef0123456789abcdef0123456789"
OTHER_ID = "1000.TESTCLIENT00000000000000000002"
OTHER_SECRET = "abcdef0123456789abcdef0123456789abcdef0123"
REDIRECT = "http://localhost:9000/callback"
READ = "ZohoCRM.functions.execute.READ"
CREATE = "ZohoCRM.functions.execute.CREATE"
BOTH = f"{READ},{CREATE}"
ADA_ID = "4150868000000225013"
SAM_ID = "4150868000000225014"

HELLO = "def handler(name: str = 'World'):\n    return 'Hi ' + name\n"


def oauth_config(**oauth: Any) -> dict[str, Any]:
    """config.yaml data: two users, the demo API key, two OAuth clients."""
    settings: dict[str, Any] = {
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "name": "Test App",
                "redirect_uris": [REDIRECT],
            },
            {
                "client_id": OTHER_ID,
                "client_secret": OTHER_SECRET,
                "name": "Other App",
                "redirect_uris": [REDIRECT],
                "user": "sam@example.com",
            },
        ]
    }
    settings.update(oauth)
    return {
        "users": [
            {"email": "admin@example.com", "first_name": "Ada", "last_name": "Admin"},
            {"email": "sam@example.com", "first_name": "Sam", "last_name": "Sales"},
        ],
        "api_keys": [{"key": DEMO_KEY}],
        "oauth": settings,
    }


def auth_params(**overrides: str) -> dict[str, str]:
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": BOTH,
        "access_type": "offline",
        "state": "s-123",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def redirect_values(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(client: Client, user: str = "admin@example.com", **overrides: str) -> str:
    """Approve the consent form as `user`; return the grant code."""
    form = auth_params(**overrides) | {"decision": "approve", "user": user}
    response = client.post("/oauth/v2/auth", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return redirect_values(response.headers["Location"])["code"]


def exchange(
    client: Client,
    code: str,
    client_id: str = CLIENT_ID,
    secret: str = SECRET,
    redirect_uri: str = REDIRECT,
) -> dict[str, Any]:
    response = client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uri": redirect_uri,
            "code": code,
        },
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json
    return body


def refresh(
    client: Client, refresh_token: str, client_id: str = CLIENT_ID, secret: str = SECRET
) -> dict[str, Any]:
    response = client.post(
        "/oauth/v2/token",
        query_string={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": secret,
            "refresh_token": refresh_token,
        },
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json
    return body


def tokens_for(client: Client, **overrides: str) -> dict[str, Any]:
    """The whole consent flow: a token response for the first client."""
    return exchange(client, get_code(client, **overrides))


def call(
    client: Client,
    token: str | None,
    method: str = "GET",
    function: str = "hello",
    scheme: str = "Zoho-oauthtoken",
) -> Any:
    headers = {"Authorization": f"{scheme} {token}"} if token else {}
    url = f"/crm/v2/functions/{function}/actions/execute?auth_type=oauth&name=Ada"
    return client.open(url, method=method, headers=headers)


def free_port() -> int:
    probe = make_server("127.0.0.1", 0, lambda environ, start: [])
    port = int(probe.port)
    probe.server_close()
    return port


@contextmanager
def serving(app: Any, port: int) -> Iterator[str]:
    """`app` on a real socket in a thread, for clients that speak real HTTP."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
