import pytest

from emulator import tokens


def test_make_has_zoho_shape_and_is_random():
    first, second = tokens.make("1000"), tokens.make("1000")
    assert first != second
    prefix, a, b = first.split(".")
    assert (prefix, len(a), len(b)) == ("1000", 32, 32)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        pytest.param(
            "/crm/v2/functions/x/actions/execute?auth_type=apikey&zapikey=1003.0123456789abcdef.ffff",
            "/crm/v2/functions/x/actions/execute?auth_type=apikey&zapikey=1003.0123…ffff",
            id="zapikey",
        ),
        pytest.param(
            "GET /x?ZAPIKEY=1003.0123456789abcdef.eeee&a=1 HTTP/1.1",
            "GET /x?ZAPIKEY=1003.0123…eeee&a=1 HTTP/1.1",
            id="upper-case-name",
        ),
        pytest.param(
            "/oauth/v2/token?refresh_token=1000.aaaaaaaaaaaaaaaa.bbbb&client_secret=abcdefghijklmnopqr",
            "/oauth/v2/token?refresh_token=1000.aaaa…bbbb&client_secret=abcdefghi…opqr",
            id="oauth-secrets",
        ),
        pytest.param("/x?zapikey=short", "/x?zapikey=****", id="short-secret"),
        pytest.param("/x?name=zapikey", "/x?name=zapikey", id="value-not-name"),
    ],
)
def test_redact_url(url, redacted):
    assert tokens.redact_url(url) == redacted


def test_digest_is_stable_and_not_the_secret():
    assert tokens.digest("s") == tokens.digest("s") != "s"
