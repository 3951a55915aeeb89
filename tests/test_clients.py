"""OAuth clients: Zoho's shapes, hashed secrets, config.yaml as the source of seeded ones."""

from __future__ import annotations

import re
import sqlite3

import pytest

from emulator.clients import ClientStore
from emulator.clock import Clock
from emulator.config import OAuthClientConfig
from emulator.errors import UsageError
from emulator.store import Store

SEED = OAuthClientConfig(
    client_id="1000.SEEDEDCLIENT00000000000000001",
    client_secret="0123456789abcdef0123456789abcdef0123456789",
    name="Seeded",
    redirect_uris=("http://localhost/cb",),
)


@pytest.fixture
def clients(tmp_path) -> ClientStore:
    store = Store(tmp_path / "state.db")
    return ClientStore(store, Clock(store))


def test_added_clients_have_zohos_shapes_and_a_hashed_secret(clients, tmp_path):
    client, secret = clients.add("My App", ("http://localhost:9000/cb",), "42")
    assert re.fullmatch(r"1000\.[A-Z0-9]{30}", client.client_id)
    assert re.fullmatch(r"[0-9a-f]{42}", secret)
    assert client.redirect_uris == ("http://localhost:9000/cb",)
    assert client.user_id == "42"
    assert not client.seeded
    dump = "\n".join(sqlite3.connect(tmp_path / "state.db").iterdump())
    assert secret not in dump
    assert clients.verify(client.client_id, secret) == client
    assert clients.verify(client.client_id, "0" * 42) is None
    assert clients.verify("1000.NONE", secret) is None


def test_redirect_uris_must_be_http(clients):
    with pytest.raises(UsageError) as caught:
        clients.add("App", ("myapp://cb",), "42")
    assert caught.value.message == (
        "expected a redirect URI starting with http:// or https:// (Zoho's rule); found "
        "'myapp://cb'. Pass the full URL your app listens on."
    )


def test_seeding_follows_config(clients):
    clients.seed((SEED,), ["42"])
    assert [c.client_id for c in clients.list()] == [SEED.client_id]
    assert clients.verify(SEED.client_id, SEED.client_secret) is not None
    renamed = OAuthClientConfig(
        client_id=SEED.client_id, client_secret="f" * 42, name="Renamed"
    )
    clients.seed((renamed,), ["42"])
    client = clients.get(SEED.client_id)
    assert client is not None and client.name == "Renamed" and client.seeded
    assert clients.verify(SEED.client_id, SEED.client_secret) is None
    clients.seed((), [])
    assert clients.list() == []


def test_removing_a_client(clients):
    client, _ = clients.add("App", (), "42")
    assert clients.remove(client.client_id) == client
    assert clients.get(client.client_id) is None


def test_removing_an_unknown_or_seeded_client_explains(clients):
    clients.seed((SEED,), ["42"])
    with pytest.raises(UsageError) as caught:
        clients.remove("1000.NOPE")
    assert caught.value.message == (
        f"no OAuth client with id '1000.NOPE'; the clients are: {SEED.client_id}. "
        "Run 'zcrm-emulator clients list' to see them."
    )
    with pytest.raises(UsageError) as caught:
        clients.remove(SEED.client_id)
    assert caught.value.message == (
        f"client {SEED.client_id} (Seeded) comes from config.yaml; delete it from "
        "oauth.clients there and restart instead."
    )
