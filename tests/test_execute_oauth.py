"""The execute endpoint in OAuth mode (DESIGN 2.1): header, scopes, expiry, revocation."""

from __future__ import annotations

import json

import pytest
from conftest import DEMO_KEY, write_config
from oauth_helpers import (
    ADA_ID,
    BOTH,
    CREATE,
    HELLO,
    READ,
    SAM_ID,
    call,
    get_code,
    oauth_config,
    refresh,
    tokens_for,
)
from werkzeug.test import Client

from emulator import config as config_module
from emulator.app import Emulator
from emulator.clock import Clock
from emulator.store import Store

WHERE = (
    "from the consent page at http://localhost/oauth/v2/auth or with "
    "'zcrm-emulator token --scope ZohoCRM.functions.execute.READ,"
    "ZohoCRM.functions.execute.CREATE'"
)
LOCAL = "get a local one " + WHERE
NEW = "get a new one " + WHERE


@pytest.fixture(autouse=True)
def hello(project, write_function) -> None:
    write_function("hello", HELLO)
    write_function(
        "whoami",
        "def handler(crmAPIRequest):\n"
        "    return {'auth': crmAPIRequest['auth_type'], 'user': crmAPIRequest['user_info'],"
        " 'params': crmAPIRequest['params']}\n",
    )
    write_config(project, oauth_config())


@pytest.fixture
def app(make_app) -> Emulator:
    return make_app()


def envelope(code: str, message: str, hint: str) -> dict[str, object]:
    return {
        "code": code,
        "details": {"hint": hint},
        "message": message,
        "status": "error",
    }


def invalid_token(hint: str) -> dict[str, object]:
    return envelope("INVALID_TOKEN", "invalid oauth token", hint)


def assert_error(response, status: int, body: dict[str, object]) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert json.loads(response.get_data(as_text=True)) == body


def test_a_consented_token_calls_the_function_as_the_approving_user(client):
    token = tokens_for(client, user="sam@example.com")["access_token"]
    response = call(client, token, function="whoami")
    assert response.status_code == 200
    assert response.json["details"]["id"] == SAM_ID
    output = json.loads(response.json["details"]["output"])
    assert output["auth"] == "oauth"
    assert output["user"]["email"] == "sam@example.com"
    assert output["params"] == {"name": "Ada"}


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        pytest.param(
            {},
            "send the header 'Authorization: Zoho-oauthtoken <access token>'; found no "
            "Authorization header",
            id="no-header",
        ),
        pytest.param(
            {"Authorization": "Zoho-oauthtoken "},
            "send the header 'Authorization: Zoho-oauthtoken <access token>'; found "
            "'****'",
            id="empty-token",
        ),
        pytest.param(
            {"Authorization": "Bearer 1000." + "a" * 32 + "." + "b" * 32},
            "send the header 'Authorization: Zoho-oauthtoken <access token>'; found "
            "'Bearer 10…bbbb' (Bearer is accepted only with oauth.accept_bearer: true)",
            id="bearer-off",
        ),
    ],
)
def test_no_usable_authorization_header_is_authentication_failure(
    client, headers, hint
):
    response = client.get(
        "/crm/v2/functions/hello/actions/execute?auth_type=oauth", headers=headers
    )
    assert_error(
        response, 401, envelope("AUTHENTICATION_FAILURE", "Authentication failed", hint)
    )


@pytest.mark.parametrize(
    ("token", "hint"),
    [
        pytest.param(
            "1000.2deaf8d0c268e3c85daa2a013a843b10.703adef2bb337b8ca36cfc5d7b83cf24",
            "this token was not issued by this emulator (a token from Zoho's own accounts "
            "server works only there; a reset state database forgets tokens); " + LOCAL,
            id="real-zoho-shape",
        ),
        pytest.param(
            "not-a-token",
            "expected an access token like 1000.<32 hex>.<32 hex>; found '****'; "
            + LOCAL,
            id="wrong-shape",
        ),
        pytest.param(
            DEMO_KEY,
            "this is an API key; call with auth_type=apikey&zapikey=<key>",
            id="api-key",
        ),
    ],
)
def test_tokens_not_issued_here_are_invalid_token(client, token, hint):
    assert_error(call(client, token), 401, invalid_token(hint))


def test_a_refresh_token_is_not_an_access_token(client):
    body = tokens_for(client)
    assert_error(
        call(client, body["refresh_token"]),
        401,
        invalid_token(
            "this is a refresh token; exchange it for an access token with POST "
            "/oauth/v2/token and grant_type=refresh_token"
        ),
    )


EXPIRED_1_S_AGO = invalid_token(
    "the access token expired 1 s ago (tokens live 3600 s); get a new one with "
    "grant_type=refresh_token"
)


def test_an_access_token_expires_after_an_hour_of_emulated_time(client, app):
    token = tokens_for(client)["access_token"]
    app.clock.advance(3599)
    assert call(client, token).status_code == 200
    app.clock.advance(2)
    assert_error(call(client, token), 401, EXPIRED_1_S_AGO)


def test_a_cached_token_expires_on_time(project, make_app):
    """Token lookups are cached per process; expiry is judged on every call."""
    now = [1_700_000_000.0]
    state = config_module.load(project / "config.yaml").state_path
    client = Client(make_app(clock=Clock(Store(state), wall=lambda: now[0])))
    token = tokens_for(client)["access_token"]
    now[0] += 3599
    assert call(client, token).status_code == 200
    now[0] += 2
    assert_error(call(client, token), 401, EXPIRED_1_S_AGO)


def test_refreshing_after_expiry_gives_a_working_token(client, app):
    body = tokens_for(client)
    app.clock.advance(7200)
    fresh = refresh(client, body["refresh_token"])["access_token"]
    assert call(client, fresh).status_code == 200


def test_token_lifetime_is_configurable(project, make_app):
    write_config(project, oauth_config(token_lifetime=60))
    app = make_app()
    client = Client(app)
    body = tokens_for(client)
    assert body["expires_in"] == 60
    app.clock.advance(61)
    assert call(client, body["access_token"]).json["code"] == "INVALID_TOKEN"


def test_revoking_an_access_token_refuses_it(client):
    body = tokens_for(client)
    client.post("/oauth/v2/token/revoke", query_string={"token": body["access_token"]})
    assert_error(
        call(client, body["access_token"]),
        401,
        invalid_token(f"the access token was revoked; {NEW}"),
    )
    fresh = refresh(client, body["refresh_token"])["access_token"]
    assert call(client, fresh).status_code == 200


def test_revoking_a_refresh_token_revokes_its_access_tokens(client):
    body = tokens_for(client)
    second = refresh(client, body["refresh_token"])["access_token"]
    client.post("/oauth/v2/token/revoke", query_string={"token": body["refresh_token"]})
    for token in (body["access_token"], second):
        assert_error(
            call(client, token),
            401,
            invalid_token(
                f"the access token was revoked with its refresh token; {NEW}"
            ),
        )


def test_live_access_tokens_beyond_the_limit_evict_the_oldest(project, make_app):
    write_config(
        project,
        oauth_config(
            throttle={"live_access_tokens": 3, "access_tokens_per_refresh_token": 0}
        ),
    )
    client = Client(make_app())
    body = tokens_for(client)
    made = [body["access_token"]] + [
        refresh(client, body["refresh_token"])["access_token"] for _ in range(3)
    ]
    assert_error(
        call(client, made[0]),
        401,
        invalid_token(
            "the access token was evicted: its refresh token made more live access tokens "
            "than oauth.throttle.live_access_tokens allows, and the oldest go first; "
            + NEW
        ),
    )
    assert [call(client, t).status_code for t in made[1:]] == [200, 200, 200]


def test_default_limit_keeps_fifteen_live_access_tokens(project, make_app):
    write_config(project, oauth_config(throttle={"access_tokens_per_refresh_token": 0}))
    client = Client(make_app())
    body = tokens_for(client)
    made = [body["access_token"]] + [
        refresh(client, body["refresh_token"])["access_token"] for _ in range(15)
    ]
    statuses = [call(client, t).status_code for t in made]
    assert statuses == [401] + [200] * 15


def test_the_twenty_first_refresh_token_of_a_user_evicts_the_first(client):
    first = tokens_for(client)
    for _ in range(20):
        tokens_for(client)
    assert call(client, first["access_token"]).json["details"]["hint"] == (
        "the access token was revoked with its refresh token, evicted by the "
        f"refresh-tokens-per-user limit; {NEW}"
    )
    response = client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "1000.TESTCLIENT00000000000000000001",
            "client_secret": "0123456789abcdef0123456789abcdef0123456789",
            "refresh_token": first["refresh_token"],
        },
    )
    assert response.get_data(as_text=True) == '{"error":"invalid_code"}'
    assert (
        "evicted by the refresh-tokens-per-user limit"
        in response.headers["X-Emulator-Hint"]
    )


@pytest.mark.parametrize(
    ("scope", "method", "status"),
    [
        pytest.param(READ, "GET", 200, id="read-get"),
        pytest.param(READ, "POST", 401, id="read-post"),
        pytest.param(CREATE, "GET", 401, id="create-get"),
        pytest.param(CREATE, "POST", 200, id="create-post"),
        pytest.param("zohocrm.functions.execute.read", "GET", 200, id="any-case"),
        pytest.param("ZohoCRM.functions.execute.ALL", "POST", 200, id="execute-all"),
        pytest.param("ZohoCRM.functions.ALL", "GET", 200, id="functions-all"),
        pytest.param("ZohoCRM.modules.ALL", "GET", 401, id="other-scope"),
    ],
)
def test_get_needs_read_and_post_needs_create(client, scope, method, status):
    token = tokens_for(client, scope=scope)["access_token"]
    assert call(client, token, method=method).status_code == status


def test_scope_mismatch_body(client):
    token = tokens_for(client, scope=CREATE)["access_token"]
    assert_error(
        call(client, token),
        401,
        envelope(
            "OAUTH_SCOPE_MISMATCH",
            "invalid oauth scope to access this URL",
            f"GET needs the scope {READ}; the token has {CREATE}. Get a token with that "
            "scope.",
        ),
    )


def test_all_scopes_can_be_switched_off(project, make_app):
    write_config(project, oauth_config(all_scopes=False))
    client = Client(make_app())
    token = tokens_for(client, scope="ZohoCRM.functions.execute.ALL")["access_token"]
    assert call(client, token).json["code"] == "OAUTH_SCOPE_MISMATCH"


def test_bearer_is_accepted_when_switched_on(project, make_app):
    write_config(project, oauth_config(accept_bearer=True))
    client = Client(make_app())
    token = tokens_for(client)["access_token"]
    assert call(client, token, scheme="Bearer").status_code == 200


def test_a_function_with_oauth_off_is_not_active(project, make_app):
    data = oauth_config()
    data["functions"] = {"hello": {"rest": {"apikey": True, "oauth": False}}}
    write_config(project, data)
    client = Client(make_app())
    token = tokens_for(client)["access_token"]
    assert_error(
        call(client, token),
        400,
        envelope(
            "NOT_ACTIVE",
            "REST API access with OAuth is not enabled for function 'hello'",
            "set functions.hello.rest.oauth: true in config.yaml and restart",
        ),
    )


def test_client_credentials_tokens_act_as_the_clients_user(client):
    response = client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "1000.TESTCLIENT00000000000000000002",
            "client_secret": "abcdef0123456789abcdef0123456789abcdef0123",
            "scope": BOTH,
        },
    )
    token = response.json["access_token"]
    assert call(client, token).json["details"]["id"] == SAM_ID


def test_tokens_of_a_user_removed_from_config_are_refused(project, make_app):
    write_config(project, oauth_config())
    token = tokens_for(Client(make_app()), user="sam@example.com")["access_token"]
    data = oauth_config()
    data["users"] = data["users"][:1]
    data["oauth"]["clients"] = data["oauth"]["clients"][:1]
    write_config(project, data)
    client = Client(make_app())
    assert_error(
        call(client, token),
        401,
        invalid_token(
            f"the token's user {SAM_ID} is no longer in config.yaml; get a new token for "
            "one of the emulated users"
        ),
    )


def test_unused_code_is_not_a_token(client):
    code = get_code(client)
    assert call(client, code).json["code"] == "INVALID_TOKEN"


def test_removing_a_client_refuses_its_tokens(app, client):
    added, _ = app.issuer.clients.add("Temp", (), ADA_ID)
    issued = app.issuer.self_client(added, ADA_ID, (READ,))
    assert call(client, issued.access_token).status_code == 200
    app.issuer.clients.remove(added.client_id)
    assert_error(
        call(client, issued.access_token),
        401,
        invalid_token(
            f"the access token was revoked when its OAuth client was removed; {NEW}"
        ),
    )


def test_token_reprs_hide_the_secrets(app):
    client = app.issuer.clients.list()[0]
    issued = app.issuer.self_client(client, ADA_ID, (READ,))
    assert issued.access_token not in repr(issued)
    assert issued.refresh_token not in repr(issued)
    assert "0123456789abcdef" not in repr(app.config.oauth.clients[0])
