"""The issuer: the token body, and the per-process cache of token lookups (the
grants themselves are tested over HTTP in test_accounts.py and
test_execute_oauth.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import write_config
from oauth_helpers import (
    ADA_ID,
    CLIENT_ID,
    SECRET,
    get_code,
    oauth_config,
    refresh,
    tokens_for,
)
from werkzeug.test import Client

from emulator import grants
from emulator.app import Emulator
from emulator.oauth import Issued

READ = "ZohoCRM.functions.execute.READ"


def test_token_body_has_zohos_keys_in_order():
    issued = Issued("1000.a.b", "1000.c.d", (READ, "x.y"), 3600)
    assert issued.body("http://api") == {
        "access_token": "1000.a.b",
        "refresh_token": "1000.c.d",
        "scope": f"{READ} x.y",
        "api_domain": "http://api",
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    assert "refresh_token" not in Issued("1000.a.b", None, (), 60).body("x")


# -- the token lookup cache ----------------------------------------------------


@pytest.fixture
def app(project, make_app) -> Emulator:
    write_config(project, oauth_config())
    return make_app()


def self_client(app: Emulator) -> Issued:
    return app.issuer.self_client(app.issuer.clients.list()[0], ADA_ID, (READ,))


def test_lookups_are_cached_until_the_tokens_stamp_moves(app):
    issued = self_client(app)
    assert app.issuer.inspect(issued.access_token).revoked_at is None
    # A change that does not touch the stamp is not seen: the record is cached...
    with app.store.transaction() as db:
        db.execute("UPDATE oauth_tokens SET revoked_at = 1")
    assert app.issuer.inspect(issued.access_token).revoked_at is None
    # ...and every change of the tokens table, in any process, touches it.
    grants.stamp(app.store).touch()
    assert app.issuer.inspect(issued.access_token).revoked_at == 1


def test_unknown_tokens_are_cached_too_and_bounded(app, monkeypatch):
    monkeypatch.setattr(app.issuer._records, "limit", 3)
    unknown = [f"1000.{i:032x}.{i:032x}" for i in range(10)]
    for secret in unknown:
        assert app.issuer.inspect(secret) is None
    assert len(app.issuer._records._entries) <= 3


def code_grant(app: Emulator) -> None:
    tokens_for(Client(app))


def refresh_grant(app: Emulator) -> None:
    refresh(Client(app), self_client(app).refresh_token or "")


def client_credentials(app: Emulator) -> None:
    Client(app).post(
        "/oauth/v2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "scope": READ,
        },
    )


def revoke(app: Emulator) -> None:
    app.issuer.revoke(self_client(app).access_token)


def remove_client(app: Emulator) -> None:
    added, _ = app.issuer.clients.add("Temp", (), ADA_ID)
    app.issuer.self_client(added, ADA_ID, (READ,))
    app.issuer.clients.remove(added.client_id)


@pytest.mark.parametrize(
    ("change", "touches"),
    [
        pytest.param(code_grant, 1, id="code-grant"),
        pytest.param(self_client, 1, id="self-client"),
        pytest.param(refresh_grant, 2, id="self-client-then-refresh"),
        pytest.param(client_credentials, 1, id="client-credentials"),
        pytest.param(revoke, 2, id="self-client-then-revoke"),
        pytest.param(remove_client, 2, id="self-client-then-client-removed"),
    ],
)
def test_every_change_of_the_tokens_table_touches_its_stamp(
    app, change: Callable[[Emulator], object], touches: int
):
    stamp = grants.stamp(app.store)
    before = stamp.read()
    change(app)
    assert stamp.read() == before + touches


def test_a_refused_grant_leaves_the_stamp_alone(app):
    stamp = grants.stamp(app.store)
    code = get_code(Client(app))
    before = stamp.read()
    denied = Client(app).post(
        "/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "code": code + "0",
        },
    )
    assert denied.json == {"error": "invalid_code"}
    assert stamp.read() == before
