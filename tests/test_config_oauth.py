"""The oauth section of config.yaml: defaults and messages for wrong values."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import config as config_module
from emulator.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CLIENT = {
    "client_id": "1000.TESTCLIENT00000000000000000001",
    "client_secret": "0123456789abcdef0123456789abcdef0123456789",
}


def load(data):
    return config_module.from_data(data, root=Path("."))


def test_defaults():
    oauth = load({}).oauth
    assert oauth.clients == ()
    assert (oauth.token_lifetime, oauth.code_lifetime) == (3600, 120)
    throttle = oauth.throttle
    assert (
        throttle.access_tokens_per_refresh_token,
        throttle.window_seconds,
        throttle.live_access_tokens,
        throttle.refresh_tokens_per_user,
    ) == (10, 600, 15, 20)
    assert (oauth.accept_bearer, oauth.all_scopes, oauth.clock_endpoint) == (
        False,
        True,
        False,
    )
    assert (oauth.api_domain, oauth.accounts_url, oauth.location) == ("", "", "us")


def test_the_sample_config_has_a_working_client():
    config = config_module.load(ROOT / "config.yaml")
    (client,) = config.oauth.clients
    assert client.client_id == "1000.ZCRMEMULATORSAMPLECLIENT000001"
    assert "http://127.0.0.1:8000/__emulator__/oauth/callback" in client.redirect_uris


@pytest.mark.parametrize(
    ("oauth", "message"),
    [
        pytest.param(
            {"clients": [CLIENT | {"client_id": "my-client"}]},
            "config.yaml: oauth.clients[0].client_id: expected a client id; found "
            "'my-client'. Zoho client ids look like 1000.<30 upper-case letters or "
            "digits>; run 'zcrm-emulator clients add' to make one.",
            id="client-id-shape",
        ),
        pytest.param(
            {"clients": [CLIENT | {"client_secret": "secret"}]},
            "config.yaml: oauth.clients[0].client_secret: expected a client secret; found "
            "'secret'. Zoho client secrets are 32 to 64 lower-case hex digits; run "
            "'zcrm-emulator clients add' to make a client with one.",
            id="secret-shape",
        ),
        pytest.param(
            {"clients": [CLIENT, CLIENT]},
            "config.yaml: oauth.clients[1].client_id: '1000.TESTCLIENT00000000000000000001' "
            "is used by two clients. Give each client its own id.",
            id="duplicate",
        ),
        pytest.param(
            {"clients": [CLIENT | {"redirect_uris": ["localhost:9000/cb"]}]},
            "config.yaml: oauth.clients[0].redirect_uris[0]: expected a URL starting with "
            "http:// or https:// (Zoho's rule); found 'localhost:9000/cb'. Write the full "
            "URL your app listens on, such as http://localhost:9000/callback.",
            id="redirect-scheme",
        ),
        pytest.param(
            {"clients": [CLIENT | {"user": "eve@example.com"}]},
            "config.yaml: oauth.clients[0].user: unknown user 'eve@example.com'; the "
            "emulated users are: admin@example.com. Use one of them, or add the user "
            "under 'users' in config.yaml.",
            id="unknown-user",
        ),
        pytest.param(
            {"token_lifetime": 0},
            "config.yaml: oauth.token_lifetime: expected seconds above zero; found 0. Use "
            "a number of seconds above zero.",
            id="lifetime",
        ),
        pytest.param(
            {"throttle": {"live_access_tokens": -1}},
            "config.yaml: oauth.throttle.live_access_tokens: expected a count (0: no "
            "limit); found -1. Use a whole number; 0 turns the limit off.",
            id="negative-limit",
        ),
        pytest.param(
            {"api_domain": "www.zohoapis.com"},
            "config.yaml: oauth.api_domain: expected a URL starting with http:// or "
            "https://; found 'www.zohoapis.com'. Leave it out to use the emulator's own URL.",
            id="api-domain",
        ),
        pytest.param(
            {"acept_bearer": True},
            "config.yaml: unknown key 'oauth.acept_bearer'. Did you mean 'accept_bearer'? "
            "Allowed here: clients, token_lifetime, code_lifetime, throttle, accept_bearer, "
            "all_scopes, clock_endpoint, api_domain, accounts_url, location.",
            id="typo",
        ),
    ],
)
def test_wrong_values_are_explained(oauth, message):
    with pytest.raises(ConfigError) as caught:
        load({"oauth": oauth})
    assert caught.value.message == message
