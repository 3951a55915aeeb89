"""Scopes: parsed from Zoho's comma-separated text, compared case-insensitively."""

from __future__ import annotations

import pytest

from emulator.scopes import parse_scopes, scope_allows

READ = "ZohoCRM.functions.execute.READ"


@pytest.mark.parametrize(
    ("text", "scopes"),
    [
        pytest.param("a.b,c.d", ("a.b", "c.d"), id="commas"),
        pytest.param("a.b c.d", ("a.b", "c.d"), id="spaces"),
        pytest.param(" a.b, c.d ,a.b", ("a.b", "c.d"), id="dedup"),
        pytest.param("", (), id="empty"),
    ],
)
def test_parse_scopes(text, scopes):
    assert parse_scopes(text) == scopes


@pytest.mark.parametrize(
    ("scopes", "supersets", "allowed"),
    [
        pytest.param((READ,), False, True, id="exact"),
        pytest.param(("zohocrm.FUNCTIONS.execute.read",), False, True, id="case"),
        pytest.param(("ZohoCRM.functions.ALL",), True, True, id="superset"),
        pytest.param(("ZohoCRM.functions.ALL",), False, False, id="superset-off"),
        pytest.param(("ZohoCRM.modules.ALL",), True, False, id="other"),
    ],
)
def test_scope_allows(scopes, supersets, allowed):
    assert scope_allows(scopes, READ, supersets) is allowed
