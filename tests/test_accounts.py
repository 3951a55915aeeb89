"""The fake Zoho Accounts over HTTP: consent page, token and revoke endpoints (DESIGN 2.5)."""

from __future__ import annotations

import pytest
from conftest import write_config
from oauth_helpers import (
    ADA_ID,
    BOTH,
    CLIENT_ID,
    OTHER_ID,
    OTHER_SECRET,
    READ,
    REDIRECT,
    SAM_ID,
    SECRET,
    auth_params,
    exchange,
    get_code,
    oauth_config,
    redirect_values,
    refresh,
    tokens_for,
)
from werkzeug.test import Client

from emulator.app import Emulator

JSON_TYPE = "application/json;charset=UTF-8"


@pytest.fixture
def app(project, make_app, write_function) -> Emulator:
    write_config(project, oauth_config())
    return make_app()


def token_error(client: Client, **params: str):
    response = client.post("/oauth/v2/token", data=params)
    return response.status_code, response.get_data(as_text=True)


# -- the consent page --------------------------------------------------------


def test_consent_page_shows_client_scopes_users_and_a_form(client):
    response = client.get("/oauth/v2/auth", query_string=auth_params())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<h1>Test App wants to access your Zoho CRM</h1>" in page
    assert (
        "<li><code>ZohoCRM.functions.execute.READ</code> &ndash; call functions with GET</li>"
        in page
    )
    assert '<form method="post" action="/oauth/v2/auth">' in page
    assert f'<input type="radio" name="user" value="{ADA_ID}" checked>' in page
    assert f'<input type="radio" name="user" value="{SAM_ID}">' in page
    assert '<input type="hidden" name="state" value="s-123">' in page
    assert "<script" not in page


def test_consent_page_escapes_what_it_echoes(client):
    response = client.get(
        "/oauth/v2/auth", query_string=auth_params(scope="<b>x</b>", state='"><i>')
    )
    page = response.get_data(as_text=True)
    assert "<code>&lt;b&gt;x&lt;/b&gt;</code>" in page
    assert 'name="state" value="&quot;&gt;&lt;i&gt;"' in page


@pytest.mark.parametrize(
    ("params", "title", "message"),
    [
        pytest.param(
            auth_params(client_id=None),
            "Missing client_id",
            "The authorization request has no client_id parameter.",
            id="no-client-id",
        ),
        pytest.param(
            auth_params(client_id="1000.UNKNOWN"),
            "Invalid Client",
            "There is no OAuth client &#x27;1000.UNKNOWN&#x27; here. Register it under "
            "oauth.clients in config.yaml or with &#x27;zcrm-emulator clients add&#x27;, "
            "and use its client_id.",
            id="unknown-client",
        ),
        pytest.param(
            auth_params(redirect_uri=None),
            "Missing redirect_uri",
            "The authorization request has no redirect_uri parameter.",
            id="no-redirect-uri",
        ),
        pytest.param(
            auth_params(redirect_uri="http://evil.example/cb"),
            "Invalid Redirect Uri",
            "Redirect URI passed does not match with the one configured. Found "
            "&#x27;http://evil.example/cb&#x27;; the client Test App has: "
            "http://localhost:9000/callback. Pass one of those, or add this one to the "
            "client&#x27;s redirect_uris.",
            id="unregistered-redirect",
        ),
        pytest.param(
            auth_params(response_type="token"),
            "Invalid response_type",
            "response_type must be &#x27;code&#x27;; found &#x27;token&#x27;.",
            id="response-type",
        ),
        pytest.param(
            auth_params(scope=""),
            "Missing scope",
            "The authorization request has no scope parameter.",
            id="no-scope",
        ),
        pytest.param(
            auth_params(access_type="forever"),
            "Invalid access_type",
            "access_type must be &#x27;online&#x27; or &#x27;offline&#x27;; found "
            "&#x27;forever&#x27;. Use offline to also get a refresh token.",
            id="access-type",
        ),
    ],
)
def test_bad_authorization_requests_get_an_html_page_never_a_redirect(
    client, params, title, message
):
    for response in (
        client.get("/oauth/v2/auth", query_string=params),
        client.post("/oauth/v2/auth", data=params | {"decision": "approve"}),
    ):
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert response.mimetype == "text/html"
        assert f"<h1>{title}</h1>" in page
        assert message in page


def test_approving_redirects_with_code_location_accounts_server_and_state(client):
    form = auth_params() | {"decision": "approve", "user": "sam@example.com"}
    response = client.post("/oauth/v2/auth", data=form)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?code=1000.")
    values = redirect_values(location)
    assert set(values) == {"code", "location", "accounts-server", "state"}
    assert values["location"] == "us"
    assert values["accounts-server"] == "http://localhost"
    assert values["state"] == "s-123"
    body = exchange(client, values["code"])
    assert body["access_token"].startswith("1000.")


def test_redirect_keeps_the_redirect_uris_own_query(project, make_app):
    data = oauth_config()
    data["oauth"]["clients"][0]["redirect_uris"] = ["http://localhost:9000/cb?app=1"]
    write_config(project, data)
    client = Client(make_app())
    form = auth_params(redirect_uri="http://localhost:9000/cb?app=1", state=None)
    response = client.post(
        "/oauth/v2/auth", data=form | {"decision": "approve", "user": ADA_ID}
    )
    assert response.headers["Location"].startswith(
        "http://localhost:9000/cb?app=1&code=1000."
    )
    assert "state" not in redirect_values(response.headers["Location"])


def test_denying_redirects_with_access_denied(client):
    response = client.post("/oauth/v2/auth", data=auth_params() | {"decision": "deny"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{REDIRECT}?error=access_denied&state=s-123"


@pytest.mark.parametrize(
    ("extra", "title", "message"),
    [
        pytest.param(
            {"decision": "approve"},
            "Missing user",
            "pick the emulated user who approves: send user=&lt;id or e-mail&gt;",
            id="no-user",
        ),
        pytest.param(
            {"decision": "approve", "user": "eve@example.com"},
            "Unknown user",
            "unknown user &#x27;eve@example.com&#x27;; the emulated users are: "
            "admin@example.com, sam@example.com.",
            id="unknown-user",
        ),
        pytest.param(
            {"decision": "maybe"},
            "Missing decision",
            "the consent form answers with decision=approve or decision=deny; found "
            "&#x27;maybe&#x27;",
            id="bad-decision",
        ),
    ],
)
def test_bad_consent_answers_get_an_html_page(client, extra, title, message):
    response = client.post("/oauth/v2/auth", data=auth_params() | extra)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"<h1>{title}</h1>" in page
    assert message in page


# -- the token endpoint: success bodies ----------------------------------------


def test_code_exchange_offline_gives_zohos_body(client):
    code = get_code(client)
    response = client.post(
        "/oauth/v2/token",
        query_string={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    body = response.json
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    assert list(body) == [
        "access_token",
        "refresh_token",
        "scope",
        "api_domain",
        "token_type",
        "expires_in",
    ]
    assert body["scope"] == f"{READ} ZohoCRM.functions.execute.CREATE"
    assert body["api_domain"] == "http://localhost"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    for name in ("access_token", "refresh_token"):
        assert len(body[name]) == 70 and body[name].startswith("1000.")


def test_code_exchange_online_gives_no_refresh_token(client):
    body = exchange(client, get_code(client, access_type="online"))
    assert list(body) == [
        "access_token",
        "scope",
        "api_domain",
        "token_type",
        "expires_in",
    ]


def test_refresh_gives_a_new_access_token_only(client):
    first = tokens_for(client)
    body = refresh(client, first["refresh_token"])
    assert list(body) == [
        "access_token",
        "scope",
        "api_domain",
        "token_type",
        "expires_in",
    ]
    assert body["access_token"] != first["access_token"]
    assert body["scope"] == first["scope"]


def test_client_credentials_gives_an_access_token(client):
    response = client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "scope": READ,
            "soid": "ZohoCRM.4150868000000000001",
        },
    )
    assert response.status_code == 200
    assert list(response.json) == [
        "access_token",
        "scope",
        "api_domain",
        "token_type",
        "expires_in",
    ]


def test_configured_api_domain_and_accounts_url_are_used(project, make_app):
    write_config(
        project,
        oauth_config(
            api_domain="https://www.zohoapis.com",
            accounts_url="https://accounts.zoho.com",
        ),
    )
    client = Client(make_app())
    form = auth_params() | {"decision": "approve", "user": ADA_ID}
    location = client.post("/oauth/v2/auth", data=form).headers["Location"]
    assert redirect_values(location)["accounts-server"] == "https://accounts.zoho.com"
    body = exchange(client, redirect_values(location)["code"])
    assert body["api_domain"] == "https://www.zohoapis.com"


# -- the token endpoint: errors (HTTP 200, Zoho's bodies) ------------------------


def _code_params(the_code: str, **overrides: str | None) -> dict[str, str]:
    params = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "redirect_uri": REDIRECT,
        "code": the_code,
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "body", "hint"),
    [
        pytest.param(
            {"client_secret": "f" * 42},
            '{"error":"invalid_client"}',
            f"the client_secret does not match client {CLIENT_ID}; use the secret printed "
            "by 'zcrm-emulator clients add' or written in config.yaml",
            id="wrong-secret",
        ),
        pytest.param(
            {"client_id": "1000.NOSUCHCLIENT"},
            '{"error":"invalid_client"}',
            "no OAuth client 1000.NOSUCHCLIENT here; 'zcrm-emulator clients list' shows "
            "the clients, 'zcrm-emulator clients add' makes one",
            id="unknown-client",
        ),
        pytest.param(
            {"code": "1000." + "0" * 32 + "." + "0" * 32},
            '{"error":"invalid_code"}',
            "invalid grant code: it was not issued here (or the state database was "
            "reset). Get a new code from the consent page (/oauth/v2/auth).",
            id="unknown-code",
        ),
        pytest.param(
            {"client_id": OTHER_ID, "client_secret": OTHER_SECRET},
            '{"error":"invalid_code"}',
            f"invalid grant code: it was issued to another client, {CLIENT_ID}. Get a new "
            "code from the consent page (/oauth/v2/auth).",
            id="other-clients-code",
        ),
        pytest.param(
            {"redirect_uri": "http://localhost:9000/other"},
            '{"error":"invalid_redirect_uri","error_description":"redirect_uri must be '
            "the one the code was issued for, 'http://localhost:9000/callback'; found "
            "'http://localhost:9000/other'\"}",
            "redirect_uri must be the one the code was issued for, "
            "'http://localhost:9000/callback'; found 'http://localhost:9000/other'",
            id="redirect-mismatch",
        ),
        pytest.param(
            {"grant_type": "password"},
            '{"error":"unsupported_grant_type","error_description":"grant_type must be '
            "one of authorization_code, refresh_token, client_credentials; found "
            "'password'. Send grant_type=authorization_code with a code from the "
            'consent page."}',
            "grant_type must be one of authorization_code, refresh_token, "
            "client_credentials; found 'password'. Send grant_type=authorization_code "
            "with a code from the consent page.",
            id="unsupported-grant",
        ),
        pytest.param(
            {"grant_type": None},
            '{"error":"unsupported_grant_type","error_description":"grant_type must be '
            "one of authorization_code, refresh_token, client_credentials; found none. "
            'Send grant_type=authorization_code with a code from the consent page."}',
            "grant_type must be one of authorization_code, refresh_token, "
            "client_credentials; found none. Send grant_type=authorization_code with a "
            "code from the consent page.",
            id="no-grant-type",
        ),
        pytest.param(
            {"code": None},
            '{"error":"invalid_request","error_description":"missing parameter code: '
            'send it in the query string or the form body"}',
            "missing parameter code: send it in the query string or the form body",
            id="no-code",
        ),
        pytest.param(
            {"client_secret": None},
            '{"error":"invalid_request","error_description":"missing parameter '
            'client_secret: send it in the query string or the form body"}',
            "missing parameter client_secret: send it in the query string or the form "
            "body",
            id="no-secret",
        ),
    ],
)
def test_code_exchange_errors(client, overrides, body, hint):
    code = get_code(client)
    response = client.post("/oauth/v2/token", data=_code_params(code, **overrides))
    assert (response.status_code, response.get_data(as_text=True)) == (200, body)
    assert response.headers["X-Emulator-Hint"] == hint


def test_a_code_works_once(client):
    code = get_code(client)
    exchange(client, code)
    response = client.post("/oauth/v2/token", data=_code_params(code))
    assert response.get_data(as_text=True) == '{"error":"invalid_code"}'
    assert response.headers["X-Emulator-Hint"] == (
        "invalid grant code: it was already exchanged; codes work once. Get a new code "
        "from the consent page (/oauth/v2/auth)."
    )


def test_a_code_expires_after_120_seconds(client, app):
    code = get_code(client)
    app.clock.advance(119)
    assert "access_token" in exchange(client, code)
    late = get_code(client)
    app.clock.advance(125)
    response = client.post("/oauth/v2/token", data=_code_params(late))
    assert (response.status_code, response.get_data(as_text=True)) == (
        200,
        '{"error":"invalid_code"}',
    )
    assert response.headers["X-Emulator-Hint"] == (
        "invalid grant code: it expired 5 s ago; codes live 120 s. Get a new code "
        "from the consent page (/oauth/v2/auth)."
    )


def _refresh_error(client, token: str, **overrides: str):
    params = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "refresh_token": token,
    } | overrides
    response = client.post("/oauth/v2/token", data=params)
    return (
        response.status_code,
        response.get_data(as_text=True),
        response.headers.get("X-Emulator-Hint"),
    )


def test_refresh_with_a_revoked_refresh_token_is_invalid_code(client):
    first = tokens_for(client)
    client.post(
        "/oauth/v2/token/revoke", query_string={"token": first["refresh_token"]}
    )
    assert _refresh_error(client, first["refresh_token"]) == (
        200,
        '{"error":"invalid_code"}',
        "invalid refresh token: it was revoked. Get a new one through the consent page "
        "with access_type=offline, or 'zcrm-emulator token'.",
    )


@pytest.mark.parametrize(
    ("which", "overrides", "problem"),
    [
        pytest.param(
            "unknown",
            {},
            "it was not issued here (or the state database was reset)",
            id="unknown",
        ),
        pytest.param(
            "access_token",
            {},
            "it is an access token; pass the refresh token instead",
            id="access-token",
        ),
        pytest.param(
            "refresh_token",
            {"client_id": OTHER_ID, "client_secret": OTHER_SECRET},
            f"it belongs to another client, {CLIENT_ID}",
            id="other-client",
        ),
    ],
)
def test_refresh_errors_are_invalid_code(client, which, overrides, problem):
    first = tokens_for(client)
    token = first.get(which, "1000." + "1" * 32 + "." + "1" * 32)
    assert _refresh_error(client, token, **overrides) == (
        200,
        '{"error":"invalid_code"}',
        f"invalid refresh token: {problem}. Get a new one through the consent page "
        "with access_type=offline, or 'zcrm-emulator token'.",
    )


def test_eleventh_refresh_in_ten_minutes_is_access_denied(client, app):
    first = tokens_for(client)
    for _ in range(10):
        refresh(client, first["refresh_token"])
    status, body, hint = _refresh_error(client, first["refresh_token"])
    assert (status, body) == (
        200,
        '{"error_description":"You have made too many requests continuously. Please '
        'try again after some time.","error":"Access Denied","status":"failure"}',
    )
    assert hint == (
        "this refresh token already made 10 access tokens in the last 600 s (Zoho's "
        "limit; oauth.throttle.access_tokens_per_refresh_token). Reuse the access token "
        "you have until it expires, or move the clock forward."
    )
    app.clock.advance(601)
    assert "access_token" in refresh(client, first["refresh_token"])


def test_client_credentials_errors(client):
    base = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }
    assert token_error(client, **base) == (
        200,
        '{"error":"invalid_request","error_description":"missing parameter scope: send '
        'it in the query string or the form body"}',
    )
    assert token_error(client, **base, scope=READ, soid="ZohoCRM.1") == (
        200,
        '{"error":"invalid_request","error_description":"soid must name the emulated '
        "org, 'ZohoCRM.4150868000000000001'; found 'ZohoCRM.1'. Leave soid out or fix "
        'the org id."}',
    )


def test_token_endpoint_takes_post_only(client):
    response = client.get(
        "/oauth/v2/token", query_string={"grant_type": "refresh_token"}
    )
    assert response.status_code == 405
    assert response.get_data(as_text=True) == (
        '{"error":"invalid_request","error_description":"/oauth/v2/token takes POST '
        'with its parameters in the query string or the form body; found GET"}'
    )


# -- revoke ---------------------------------------------------------------------


def test_revoke_answers_success(client):
    first = tokens_for(client)
    response = client.post(
        "/oauth/v2/token/revoke", data={"token": first["refresh_token"]}
    )
    assert (response.status_code, response.get_data(as_text=True)) == (
        200,
        '{"status":"success"}',
    )


@pytest.mark.parametrize(
    ("token", "hint"),
    [
        pytest.param(
            "1000." + "2" * 32 + "." + "2" * 32,
            "cannot revoke the token: it is unknown here. Pass an access or refresh token "
            "issued by this emulator as the token parameter.",
            id="unknown",
        ),
        pytest.param(
            "revoked",
            "cannot revoke the token: it is already revoked. Pass an access or refresh "
            "token issued by this emulator as the token parameter.",
            id="already-revoked",
        ),
    ],
)
def test_revoking_an_invalid_token_is_400(client, token, hint):
    if token == "revoked":
        token = tokens_for(client)["refresh_token"]
        client.post("/oauth/v2/token/revoke", query_string={"token": token})
    response = client.post("/oauth/v2/token/revoke", query_string={"token": token})
    assert (response.status_code, response.get_data(as_text=True)) == (
        400,
        '{"error":"invalid_token","status":"failure"}',
    )
    assert response.headers["X-Emulator-Hint"] == hint


def test_revoke_without_a_token_is_400(client):
    response = client.post("/oauth/v2/token/revoke")
    assert (response.status_code, response.get_data(as_text=True)) == (
        400,
        '{"error":"invalid_request","error_description":"missing parameter token: send '
        'the refresh or access token to revoke as ?token=..."}',
    )


# -- the sample callback page ----------------------------------------------------


def test_callback_page_shows_the_code_and_the_exchange_command(client):
    code = get_code(client)
    response = client.get(
        "/__emulator__/oauth/callback",
        query_string={
            "code": code,
            "location": "us",
            "accounts-server": "http://localhost",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Authorization code received</h1>" in page
    assert f"<code>{code}</code>" in page
    assert (
        "curl -X POST http://localhost/oauth/v2/token \\\n  -d &#x27;grant_type="
        f"authorization_code&amp;client_id={CLIENT_ID}&amp;client_secret={SECRET}"
        "&amp;redirect_uri=http://localhost/__emulator__/oauth/callback"
        f"&amp;code={code}&#x27;"
    ) in page.replace("%3A", ":").replace("%2F", "/")


def test_callback_page_shows_a_denial(client):
    response = client.get("/__emulator__/oauth/callback?error=access_denied&state=x")
    page = response.get_data(as_text=True)
    assert "<h1>Access denied</h1>" in page
    assert "<pre" not in page


def test_scopes_in_token_body_keep_the_requested_order(client):
    body = tokens_for(client, scope=f"{BOTH},ZohoCRM.users.READ")
    assert (
        body["scope"] == f"{READ} ZohoCRM.functions.execute.CREATE ZohoCRM.users.READ"
    )
