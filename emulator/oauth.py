"""The token issuer of the fake Zoho Accounts: grant codes, access and refresh tokens.

Pure logic over the store: no HTTP here (that is `accounts`). Time comes only
from the clock, so moving the clock expires codes and tokens in every process.
Errors are Zoho's token-endpoint answers (`AccountsError`: HTTP 200 and
`{"error": ...}`), each with a message that says what was wrong and what to do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import grants, tokens
from .cache import StampedCache, changing
from .clients import Client, ClientStore
from .clock import Clock
from .config import Config, OAuthConfig
from .consent import OFFLINE, AuthRequest
from .errors import AccountsError, UsageError
from .grants import ACCESS, PURGE_AFTER, REFRESH, TokenRecord
from .scopes import parse_scopes
from .store import Store

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
CLIENT_CREDENTIALS = "client_credentials"
SELF_CLIENT = "self_client"
SELF_CLIENT_NAME = "Self Client"
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS)

# Token-endpoint errors. Zoho's own: invalid_client, invalid_code, the throttle
# body. Ours (Zoho documents no body for these): the rest, which also carry an
# error_description.
INVALID_CLIENT = "invalid_client"
INVALID_CODE = "invalid_code"
INVALID_REQUEST = "invalid_request"
INVALID_REDIRECT_URI = "invalid_redirect_uri"
UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
INVALID_TOKEN = "invalid_token"
THROTTLE_BODY = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}
CACHE_LIMIT = 4096  # token lookups kept per process


@dataclass(frozen=True)
class Issued:
    """What the token endpoint hands out."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    scopes: tuple[str, ...]
    expires_in: int

    def body(self, api_domain: str) -> dict[str, Any]:
        """Zoho's token response, keys in Zoho's order."""
        body: dict[str, Any] = {"access_token": self.access_token}
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        body["scope"] = " ".join(self.scopes)
        body["api_domain"] = api_domain
        body["token_type"] = "Bearer"
        body["expires_in"] = self.expires_in
        return body


class Issuer:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        clients: ClientStore,
        settings: OAuthConfig,
        org_id: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.clients = clients
        self.settings = settings
        self.org_id = org_id
        self._records: StampedCache[str, TokenRecord | None] = StampedCache(
            grants.stamp(store), CACHE_LIMIT
        )

    # -- the consent page and its codes ---------------------------------------

    def issue_code(self, request: AuthRequest, user_id: str) -> str:
        code = tokens.make(tokens.TOKEN_PREFIX)
        now = self.clock.now()
        with self.store.transaction() as db:
            db.execute(
                "DELETE FROM oauth_codes WHERE expires_at < ?", (now - PURGE_AFTER,)
            )
            db.execute(
                "INSERT INTO oauth_codes (digest, client_id, user_id, scopes,"
                " redirect_uri, access_type, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tokens.digest(code),
                    request.client.client_id,
                    user_id,
                    " ".join(request.scopes),
                    request.redirect_uri,
                    request.access_type,
                    now,
                    now + self.settings.code_lifetime,
                ),
            )
        return code

    def code_client(self, code: str) -> Client | None:
        """The client a (still unused) grant code was issued to."""
        row = (
            self.store.connection()
            .execute(
                "SELECT client_id FROM oauth_codes WHERE digest = ? AND used_at IS NULL",
                (tokens.digest(code),),
            )
            .fetchone()
        )
        return None if row is None else self.clients.get(row[0])

    # -- the token endpoint -------------------------------------------------

    def token(self, params: Mapping[str, str]) -> Issued:
        """Answer one token request (`grant_type` picks the grant)."""
        grant = params.get("grant_type", "")
        if grant not in GRANT_TYPES:
            found = f"'{grant}'" if grant else "none"
            raise own_error(
                UNSUPPORTED_GRANT_TYPE,
                f"grant_type must be one of {', '.join(GRANT_TYPES)}; found {found}. "
                f"Send grant_type=authorization_code with a code from the consent page.",
            )
        client = self._client(params)
        if grant == AUTHORIZATION_CODE:
            return self._code_grant(client, params)
        if grant == REFRESH_TOKEN:
            return self._refresh_grant(client, params)
        return self._client_credentials(client, params)

    def _client(self, params: Mapping[str, str]) -> Client:
        for name in ("client_id", "client_secret"):
            _require(params, name)
        client_id = params["client_id"]
        client = self.clients.verify(client_id, params["client_secret"])
        if client is not None:
            return client
        known = self.clients.get(client_id) is not None
        raise AccountsError(
            INVALID_CLIENT,
            f"the client_secret does not match client {client_id}; use the secret "
            f"printed by 'zcrm-emulator clients add' or written in config.yaml"
            if known
            else f"no OAuth client {client_id} here; 'zcrm-emulator clients list' shows "
            f"the clients, 'zcrm-emulator clients add' makes one",
        )

    def _code_grant(self, client: Client, params: Mapping[str, str]) -> Issued:
        code = _require(params, "code")
        now = self.clock.now()
        with self._changing_tokens() as db:
            row = db.execute(
                "SELECT * FROM oauth_codes WHERE digest = ?", (tokens.digest(code),)
            ).fetchone()
            _check_code(row, client, now)
            redirect_uri = params.get("redirect_uri")
            if redirect_uri and redirect_uri != row["redirect_uri"]:
                raise own_error(
                    INVALID_REDIRECT_URI,
                    f"redirect_uri must be the one the code was issued for, "
                    f"'{row['redirect_uri']}'; found '{redirect_uri}'",
                )
            db.execute(
                "UPDATE oauth_codes SET used_at = ? WHERE digest = ?",
                (now, row["digest"]),
            )
            scopes = parse_scopes(row["scopes"])
            refresh, refresh_id = None, None
            if row["access_type"] == OFFLINE:
                refresh, refresh_id = self._mint_refresh(
                    db, client.client_id, row["user_id"], scopes, AUTHORIZATION_CODE
                )
            access = self._mint_access(
                db,
                client.client_id,
                row["user_id"],
                scopes,
                refresh_id,
                AUTHORIZATION_CODE,
            )
        return Issued(access, refresh, scopes, self.settings.token_lifetime)

    def _refresh_grant(self, client: Client, params: Mapping[str, str]) -> Issued:
        secret = _require(params, "refresh_token")
        now = self.clock.now()
        with self._changing_tokens() as db:
            record = grants.find(db, secret)
            _check_refresh(record, client, now)
            assert record is not None
            self._throttle(db, record, now)
            access = self._mint_access(
                db,
                client.client_id,
                record.user_id,
                record.scopes,
                record.id,
                REFRESH_TOKEN,
            )
        return Issued(access, None, record.scopes, self.settings.token_lifetime)

    def _client_credentials(self, client: Client, params: Mapping[str, str]) -> Issued:
        scopes = parse_scopes(_require(params, "scope"))
        soid = params.get("soid")
        expected = f"ZohoCRM.{self.org_id}"
        if soid and soid != expected:
            raise own_error(
                INVALID_REQUEST,
                f"soid must name the emulated org, '{expected}'; found '{soid}'. "
                f"Leave soid out or fix the org id.",
            )
        with self._changing_tokens() as db:
            access = self._mint_access(
                db, client.client_id, client.user_id, scopes, None, CLIENT_CREDENTIALS
            )
        return Issued(access, None, scopes, self.settings.token_lifetime)

    def client_for_tokens(self, client_id: str = "") -> tuple[Client, str]:
        """The client named, else the first one, else a new "Self Client"; the
        secret is returned only when the client was made just now."""
        if client_id:
            client = self.clients.get(client_id)
            if client is None:
                raise UsageError(
                    f"no OAuth client '{client_id}'. Run 'zcrm-emulator clients list' to "
                    f"see the clients, or leave --client out to use the first one."
                )
            return client, ""
        existing = self.clients.list()
        if existing:
            return existing[0], ""
        return self.clients.add(SELF_CLIENT_NAME, (), "")

    def self_client(
        self, client: Client, user_id: str, scopes: tuple[str, ...]
    ) -> Issued:
        """A refresh and access token pair without the consent page (Zoho's Self Client)."""
        with self._changing_tokens() as db:
            refresh, refresh_id = self._mint_refresh(
                db, client.client_id, user_id, scopes, SELF_CLIENT
            )
            access = self._mint_access(
                db, client.client_id, user_id, scopes, refresh_id, SELF_CLIENT
            )
        return Issued(access, refresh, scopes, self.settings.token_lifetime)

    # -- looking tokens up and revoking them --------------------------------

    def inspect(self, secret: str) -> TokenRecord | None:
        """What the store knows about `secret`, from this process's cache while
        the tokens table is unchanged. Whether the token has expired is for the
        caller to judge, against the clock's current time."""
        return self._records.get(tokens.digest(secret), self._find)

    def _find(self, digest: str) -> TokenRecord | None:
        return grants.find_digest(self.store.connection(), digest)

    @contextmanager
    def _changing_tokens(self) -> Iterator[sqlite3.Connection]:
        with changing(self.store, self._records.stamp) as db:
            yield db

    def revoke(self, secret: str) -> TokenRecord:
        """Revoke an access or a refresh token; a refresh token takes its access tokens along."""
        now = self.clock.now()
        with self._changing_tokens() as db:
            record = grants.find(db, secret)
            if record is None or record.revoked_at is not None:
                state = "unknown here" if record is None else "already revoked"
                raise AccountsError(
                    INVALID_TOKEN,
                    f"cannot revoke the token: it is {state}. Pass an access or refresh "
                    f"token issued by this emulator as the token parameter.",
                    status=400,
                    body={"error": INVALID_TOKEN, "status": "failure"},
                )
            grants.revoke(db, [record.id], now, "revoked")
        return record

    # -- minting ------------------------------------------------------------

    def _mint_refresh(
        self,
        db: sqlite3.Connection,
        client_id: str,
        user_id: str,
        scopes: tuple[str, ...],
        grant: str,
    ) -> tuple[str, int]:
        secret, token_id = grants.insert(
            db, REFRESH, grant, client_id, user_id, scopes, None, self.clock.now(), None
        )
        limit = self.settings.throttle.refresh_tokens_per_user
        if limit:
            rows = db.execute(
                "SELECT id FROM oauth_tokens WHERE user_id = ? AND kind = 'refresh'"
                " AND revoked_at IS NULL ORDER BY created_at DESC, id DESC"
                " LIMIT -1 OFFSET ?",
                (user_id, limit),
            ).fetchall()
            grants.revoke(db, [r[0] for r in rows], self.clock.now(), "evicted")
        return secret, token_id

    def _mint_access(
        self,
        db: sqlite3.Connection,
        client_id: str,
        user_id: str,
        scopes: tuple[str, ...],
        parent_id: int | None,
        grant: str,
    ) -> str:
        now = self.clock.now()
        db.execute(
            "DELETE FROM oauth_tokens WHERE kind = 'access' AND expires_at < ?",
            (now - PURGE_AFTER,),
        )
        expires = now + self.settings.token_lifetime
        secret, _ = grants.insert(
            db, ACCESS, grant, client_id, user_id, scopes, parent_id, now, expires
        )
        limit = self.settings.throttle.live_access_tokens
        if parent_id is not None and limit:
            rows = db.execute(
                "SELECT id FROM oauth_tokens WHERE parent_id = ? AND revoked_at IS NULL"
                " AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?",
                (parent_id, now, limit),
            ).fetchall()
            grants.revoke(db, [r[0] for r in rows], now, "evicted")
        return secret

    def _throttle(
        self, db: sqlite3.Connection, refresh: TokenRecord, now: float
    ) -> None:
        throttle = self.settings.throttle
        if not throttle.access_tokens_per_refresh_token:
            return
        (count,) = db.execute(
            "SELECT COUNT(*) FROM oauth_tokens WHERE parent_id = ?"
            " AND grant_type = 'refresh_token' AND created_at > ?",
            (refresh.id, now - throttle.window_seconds),
        ).fetchone()
        if count >= throttle.access_tokens_per_refresh_token:
            raise AccountsError(
                "Access Denied",
                f"this refresh token already made {count} access tokens in the last "
                f"{throttle.window_seconds} s (Zoho's limit; oauth.throttle."
                f"access_tokens_per_refresh_token). Reuse the access token you have "
                f"until it expires, or move the clock forward.",
                body=dict(THROTTLE_BODY),
            )


def build(config: Config, store: Store, clock: Clock) -> Issuer:
    """The issuer of a project, its clients seeded from config.yaml."""
    clients = ClientStore(store, clock)
    clients.seed(
        config.oauth.clients, [config.user(c.user).id for c in config.oauth.clients]
    )
    return Issuer(store, clock, clients, config.oauth, config.org.id)


def own_error(error: str, message: str) -> AccountsError:
    """An error whose body Zoho does not document: ours carries a description."""
    return AccountsError(
        error, message, body={"error": error, "error_description": message}
    )


def _require(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise own_error(
            INVALID_REQUEST,
            f"missing parameter {name}: send it in the query string or the form body",
        )
    return value


def _check_code(row: sqlite3.Row | None, client: Client, now: float) -> None:
    problem = None
    if row is None:
        problem = "it was not issued here (or the state database was reset)"
    elif row["client_id"] != client.client_id:
        problem = f"it was issued to another client, {row['client_id']}"
    elif row["used_at"] is not None:
        problem = "it was already exchanged; codes work once"
    elif now >= row["expires_at"]:
        ago = now - row["expires_at"]
        problem = f"it expired {ago:.0f} s ago; codes live {row['expires_at'] - row['created_at']:.0f} s"
    if problem:
        raise AccountsError(
            INVALID_CODE,
            f"invalid grant code: {problem}. Get a new code from the consent page "
            f"(/oauth/v2/auth).",
        )


def _check_refresh(record: TokenRecord | None, client: Client, now: float) -> None:
    problem = None
    if record is None:
        problem = "it was not issued here (or the state database was reset)"
    elif record.kind != REFRESH:
        problem = "it is an access token; pass the refresh token instead"
    elif record.client_id != client.client_id:
        problem = f"it belongs to another client, {record.client_id}"
    elif record.revoked_at is not None:
        problem = f"it was {_reason(record.revoked_reason)}"
    if problem:
        raise AccountsError(
            INVALID_CODE,
            f"invalid refresh token: {problem}. Get a new one through the consent page "
            f"with access_type=offline, or 'zcrm-emulator token'.",
        )


def _reason(reason: str | None) -> str:
    return {
        "revoked": "revoked",
        "evicted": "evicted by the refresh-tokens-per-user limit",
        "client_removed": "revoked when its client was removed",
    }.get(reason or "", "revoked")
