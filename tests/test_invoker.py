import pytest

from emulator.errors import UsageError

HELLO = {
    "hello": "def handler(crmAPIRequest):\n    return crmAPIRequest['auth_type']\n"
}
READ = "ZohoCRM.functions.execute.READ"


def test_oauth_calls_go_through_the_token_check(zcrm_temp):
    emulator = zcrm_temp(HELLO)
    assert emulator.invoke("hello", auth="oauth").output == "oauth"
    posted = emulator.invoke("hello", auth="oauth", scopes=(READ,), method="POST")
    assert (posted.status, posted.code) == (401, "OAUTH_SCOPE_MISMATCH")
    assert emulator.invoke("hello", auth="oauth", scopes=(READ,)).output == "oauth"


def test_moving_the_clock_expires_tokens(zcrm_temp):
    emulator = zcrm_temp(HELLO)
    assert emulator.invoke("hello", auth="oauth").ok
    emulator.advance_clock(3601)
    expired = emulator.invoke("hello", auth="oauth")
    assert (expired.status, expired.code) == (401, "INVALID_TOKEN")


def test_temporary_credentials_are_removed_on_close(zcrm_temp):
    emulator = zcrm_temp(HELLO)
    key = emulator.api_key()
    token = emulator.token()
    app = emulator.app
    emulator.close()
    assert app.keys.owner(key) is None
    assert app.issuer.inspect(token).revoked_at is not None


def test_unknown_auth_mode(zcrm_temp):
    with pytest.raises(UsageError) as caught:
        zcrm_temp(HELLO).invoke("hello", auth="basic")
    assert (
        caught.value.message
        == "auth must be 'apikey', 'oauth' or 'none'; found 'basic'"
    )


def test_a_client_made_for_tokens_is_removed_too(zcrm_temp):
    emulator = zcrm_temp(HELLO)
    assert emulator.app.issuer.clients.list() == []
    emulator.invoke("hello", auth="oauth")
    assert [c.name for c in emulator.app.issuer.clients.list()] == ["Self Client"]
    app = emulator.app
    emulator.close()
    assert app.issuer.clients.list() == []
