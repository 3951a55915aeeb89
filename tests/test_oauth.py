"""The issuer's pure parts: the token body (the grants are tested over HTTP in
test_accounts.py and test_execute_oauth.py)."""

from __future__ import annotations

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
