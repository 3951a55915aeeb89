"""OAuth scopes: Zoho's for calling functions, and how a token's scopes are read."""

from __future__ import annotations

import re

READ_SCOPE = "ZohoCRM.functions.execute.READ"
CREATE_SCOPE = "ZohoCRM.functions.execute.CREATE"
# Assumed (Zoho documents neither): broader scopes that cover READ and CREATE,
# accepted while oauth.all_scopes is true.
SUPERSET_SCOPES = ("ZohoCRM.functions.execute.ALL", "ZohoCRM.functions.ALL")

_SCOPE_SPLIT = re.compile(r"[\s,]+")


def parse_scopes(text: str) -> tuple[str, ...]:
    """Zoho writes scopes comma-separated; spaces (OAuth's way) are accepted too."""
    scopes = [s for s in _SCOPE_SPLIT.split(text or "") if s]
    return tuple(dict.fromkeys(scopes))


def scope_allows(scopes: tuple[str, ...], needed: str, supersets: bool) -> bool:
    """Scopes compare case-insensitively, as Zoho Accounts treats them."""
    have = {s.lower() for s in scopes}
    wanted = {needed.lower()}
    if supersets:
        wanted |= {s.lower() for s in SUPERSET_SCOPES}
    return bool(have & wanted)
