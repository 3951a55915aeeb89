"""Stored tokens: the rows of access and refresh tokens, found and revoked by secret.

Only hashes of the secrets are stored (`tokens.digest`); an access token made
from a refresh token points at it through `parent_id`, so revoking the refresh
token takes its access tokens along. Every change of the table touches the
stamp `oauth_tokens.stamp` after its commit (`cache.changing`), which keeps
each process's cache of token lookups (`oauth.Issuer.inspect`) true.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import tokens
from .scopes import parse_scopes
from .store import Stamp, Store

ACCESS, REFRESH = "access", "refresh"
# Tokens and codes this long past their expiry are deleted, to keep the store small.
PURGE_AFTER = 86400.0
STAMP_NAME = "oauth_tokens.stamp"


def stamp(store: Store) -> Stamp:
    """The stamp that every change of the tokens table touches."""
    return Stamp(store.path.with_name(STAMP_NAME))


@dataclass(frozen=True)
class TokenRecord:
    """What the store knows about one access or refresh token."""

    id: int
    masked: str
    kind: str
    grant_type: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    parent_id: int | None
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    revoked_reason: str | None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def active(self, now: float) -> bool:
        return self.revoked_at is None and not self.expired(now)


def insert(
    db: sqlite3.Connection,
    kind: str,
    grant: str,
    client_id: str,
    user_id: str,
    scopes: tuple[str, ...],
    parent_id: int | None,
    now: float,
    expires_at: float | None,
) -> tuple[str, int]:
    secret = tokens.make(tokens.TOKEN_PREFIX)
    cursor = db.execute(
        "INSERT INTO oauth_tokens (digest, masked, kind, grant_type, client_id, user_id,"
        " scopes, parent_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            tokens.digest(secret),
            tokens.mask(secret),
            kind,
            grant,
            client_id,
            user_id,
            " ".join(scopes),
            parent_id,
            now,
            expires_at,
        ),
    )
    return secret, int(cursor.lastrowid or 0)


def revoke(db: sqlite3.Connection, ids: list[int], now: float, reason: str) -> None:
    """Revoke tokens by id; a refresh token's access tokens go with it."""
    for token_id in ids:
        db.execute(
            "UPDATE oauth_tokens SET revoked_at = ?, revoked_reason = ?"
            " WHERE id = ? AND revoked_at IS NULL",
            (now, reason, token_id),
        )
        db.execute(
            "UPDATE oauth_tokens SET revoked_at = ?, revoked_reason = ?"
            " WHERE parent_id = ? AND revoked_at IS NULL",
            (now, f"refresh_{reason}", token_id),
        )


def find(db: sqlite3.Connection, secret: str) -> TokenRecord | None:
    return find_digest(db, tokens.digest(secret))


def find_digest(db: sqlite3.Connection, digest: str) -> TokenRecord | None:
    row = db.execute(
        "SELECT * FROM oauth_tokens WHERE digest = ?", (digest,)
    ).fetchone()
    if row is None:
        return None
    return TokenRecord(
        id=row["id"],
        masked=row["masked"],
        kind=row["kind"],
        grant_type=row["grant_type"],
        client_id=row["client_id"],
        user_id=row["user_id"],
        scopes=parse_scopes(row["scopes"]),
        parent_id=row["parent_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        revoked_reason=row["revoked_reason"],
    )
