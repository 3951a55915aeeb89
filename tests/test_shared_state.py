"""Two app instances on one state database agree on clients, codes, tokens and the clock,
as several server processes of one project do."""

from __future__ import annotations

import pytest
from conftest import write_config
from oauth_helpers import (
    ADA_ID,
    HELLO,
    READ,
    call,
    exchange,
    get_code,
    oauth_config,
    refresh,
)
from werkzeug.test import Client


@pytest.fixture
def pair(project, make_app, write_function) -> tuple[Client, Client, object, object]:
    write_function("hello", HELLO)
    write_config(project, oauth_config())
    first, second = make_app(), make_app()
    assert first.store is not second.store
    return Client(first), Client(second), first, second


def test_a_code_from_one_process_is_exchanged_once_in_another(pair):
    one, two, _, _ = pair
    code = get_code(one)
    body = exchange(two, code)
    assert call(one, body["access_token"]).status_code == 200
    again = one.post(
        "/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "1000.TESTCLIENT00000000000000000001",
            "client_secret": "0123456789abcdef0123456789abcdef0123456789",
            "code": code,
        },
    )
    assert again.get_data(as_text=True) == '{"error":"invalid_code"}'


def test_revocation_in_one_process_holds_in_the_other(pair):
    one, two, _, _ = pair
    body = exchange(one, get_code(one))
    fresh = refresh(two, body["refresh_token"])["access_token"]
    # Both tokens are now in the first process's cache of token lookups.
    assert call(one, fresh).status_code == 200
    assert call(one, body["access_token"]).status_code == 200
    response = two.post(
        "/oauth/v2/token/revoke", query_string={"token": body["refresh_token"]}
    )
    assert response.json == {"status": "success"}
    assert call(one, fresh).json["code"] == "INVALID_TOKEN"
    assert call(one, body["access_token"]).json["code"] == "INVALID_TOKEN"


def test_moving_the_clock_in_one_process_expires_tokens_in_the_other(pair):
    one, two, first, second = pair
    body = exchange(one, get_code(one))
    assert call(two, body["access_token"]).status_code == 200  # cached: token, offset
    first.clock.advance(3601)
    assert second.clock.offset() == 3601
    assert call(two, body["access_token"]).json["code"] == "INVALID_TOKEN"


def test_the_clock_endpoint_of_one_process_moves_the_others_clock(
    project, make_app, write_function
):
    write_function("hello", HELLO)
    write_config(project, oauth_config(clock_endpoint=True))
    one, two = Client(make_app()), Client(make_app())
    token = exchange(one, get_code(one))["access_token"]
    assert call(two, token).status_code == 200
    one.post("/__emulator__/clock/advance", data={"seconds": "2h"})
    assert call(two, token).json["code"] == "INVALID_TOKEN"
    one.post("/__emulator__/clock/reset")
    assert call(two, token).status_code == 200


def test_removing_a_client_in_one_process_refuses_its_tokens_in_the_other(pair):
    _, two, first, _ = pair
    added, _ = first.issuer.clients.add("Temp", (), ADA_ID)
    issued = first.issuer.self_client(added, ADA_ID, (READ,))
    assert call(two, issued.access_token).status_code == 200
    first.issuer.clients.remove(added.client_id)
    assert call(two, issued.access_token).json["code"] == "INVALID_TOKEN"


def test_the_throttle_counts_refreshes_from_every_process(pair):
    one, two, _, _ = pair
    body = exchange(one, get_code(one))
    for i in range(10):
        refresh(one if i % 2 else two, body["refresh_token"])
    denied = refresh(one, body["refresh_token"])
    assert denied["error"] == "Access Denied"
