"""OAuth clients of the fake Zoho Accounts: seeded from config.yaml or added by the CLI.

A client has Zoho's shapes (id `1000.<30 upper-case alphanumerics>`, secret of 42
hex digits); the store keeps only the hash of the secret.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from . import grants, tokens
from .cache import changing
from .clock import Clock
from .config import OAuthClientConfig
from .errors import UsageError
from .store import Store

SEEDED_NOTE = "config.yaml"


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    user_id: str  # the user that client_credentials tokens act as
    seeded: bool
    created_at: float

    @property
    def title(self) -> str:
        return self.name or self.client_id


class ClientStore:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.tokens_stamp = grants.stamp(store)  # _delete revokes tokens

    def seed(
        self, clients: tuple[OAuthClientConfig, ...], owner_ids: list[str]
    ) -> None:
        """Make the store's config clients match config.yaml (it is their source)."""
        now = self.clock.now()
        with self.store.transaction() as db:
            for client, user_id in zip(clients, owner_ids, strict=True):
                db.execute(
                    "INSERT INTO oauth_clients (client_id, secret_digest, name,"
                    " redirect_uris, user_id, seeded, created_at)"
                    " VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (client_id) DO UPDATE"
                    " SET secret_digest = excluded.secret_digest, name = excluded.name,"
                    " redirect_uris = excluded.redirect_uris, user_id = excluded.user_id,"
                    " seeded = 1",
                    (
                        client.client_id,
                        tokens.digest(client.client_secret),
                        client.name,
                        json.dumps(list(client.redirect_uris)),
                        user_id,
                        now,
                    ),
                )
            kept = [c.client_id for c in clients]
            gone = db.execute(
                "SELECT client_id FROM oauth_clients WHERE seeded = 1 AND client_id"
                f" NOT IN ({','.join('?' * len(kept))})",
                kept,
            ).fetchall()
        for row in gone:
            self._delete(row[0])

    def add(
        self, name: str, redirect_uris: tuple[str, ...], user_id: str
    ) -> tuple[Client, str]:
        """A new client; its secret is returned here and never again."""
        for uri in redirect_uris:
            if not uri.startswith(("http://", "https://")):
                raise UsageError(
                    f"expected a redirect URI starting with http:// or https:// "
                    f"(Zoho's rule); found '{uri}'. Pass the full URL your app listens on."
                )
        client_id = tokens.make_client_id()
        secret = tokens.make_client_secret()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO oauth_clients (client_id, secret_digest, name,"
                " redirect_uris, user_id, seeded, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
                (
                    client_id,
                    tokens.digest(secret),
                    name,
                    json.dumps(list(redirect_uris)),
                    user_id,
                    self.clock.now(),
                ),
            )
        client = self.get(client_id)
        assert client is not None
        return client, secret

    def get(self, client_id: str) -> Client | None:
        row = (
            self.store.connection()
            .execute("SELECT * FROM oauth_clients WHERE client_id = ?", (client_id,))
            .fetchone()
        )
        return None if row is None else _client(row)

    def list(self) -> list[Client]:
        rows = self.store.connection().execute(
            "SELECT * FROM oauth_clients ORDER BY seeded DESC, created_at, client_id"
        )
        return [_client(row) for row in rows]

    def verify(self, client_id: str, secret: str) -> Client | None:
        """The client when `secret` is its secret, else None."""
        row = (
            self.store.connection()
            .execute(
                "SELECT secret_digest FROM oauth_clients WHERE client_id = ?",
                (client_id,),
            )
            .fetchone()
        )
        if row is None or not hmac.compare_digest(row[0], tokens.digest(secret or "")):
            return None
        return self.get(client_id)

    def remove(self, client_id: str) -> Client:
        """Remove a client added by the CLI; its codes and tokens stop working."""
        client = self.get(client_id)
        if client is None:
            known = ", ".join(c.client_id for c in self.list()) or "none"
            raise UsageError(
                f"no OAuth client with id '{client_id}'; the clients are: {known}. "
                f"Run 'zcrm-emulator clients list' to see them."
            )
        if client.seeded:
            raise UsageError(
                f"client {client_id} ({client.title}) comes from config.yaml; "
                f"delete it from oauth.clients there and restart instead."
            )
        self._delete(client_id)
        return client

    def _delete(self, client_id: str) -> None:
        now = self.clock.now()
        with changing(self.store, self.tokens_stamp) as db:
            db.execute("DELETE FROM oauth_clients WHERE client_id = ?", (client_id,))
            db.execute("DELETE FROM oauth_codes WHERE client_id = ?", (client_id,))
            db.execute(
                "UPDATE oauth_tokens SET revoked_at = ?, revoked_reason = 'client_removed'"
                " WHERE client_id = ? AND revoked_at IS NULL",
                (now, client_id),
            )


def _client(row: object) -> Client:
    r = dict(row)  # type: ignore[call-overload]
    return Client(
        client_id=r["client_id"],
        name=r["name"],
        redirect_uris=tuple(json.loads(r["redirect_uris"])),
        user_id=r["user_id"],
        seeded=bool(r["seeded"]),
        created_at=r["created_at"],
    )
