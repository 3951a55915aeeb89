"""API keys (`zapikey`): kept in the store as hashes, each owned by an emulated user."""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import tokens
from .cache import StampedCache, changing
from .clock import Clock
from .config import Config
from .errors import UsageError
from .store import Stamp, Store


@dataclass(frozen=True)
class ApiKey:
    id: int
    masked: str
    user_id: str
    label: str
    seeded: bool
    created_at: float
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


CACHE_LIMIT = 4096
STAMP_NAME = "api_keys.stamp"


class KeyStore:
    """Keys in the store, with a per-process cache of lookups: every lookup checks
    the stamp that each change of api_keys touches (in any process), so a
    revoked key stops working at once without a query on every call."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.stamp = Stamp(store.path.with_name(STAMP_NAME))
        self._owners: StampedCache[str, str | None] = StampedCache(
            self.stamp, CACHE_LIMIT
        )

    def seed(self, config: Config) -> None:
        """Add the keys written in config.yaml (idempotent: a known key is left as is),
        each owned by the user it names (default: the first user)."""
        owners = [config.user(seed.user).id for seed in config.api_keys]
        with self._write() as db:
            for seed, user_id in zip(config.api_keys, owners, strict=True):
                db.execute(
                    "INSERT OR IGNORE INTO api_keys"
                    " (digest, masked, user_id, label, seeded, created_at)"
                    " VALUES (?, ?, ?, 'config.yaml', 1, ?)",
                    (
                        tokens.digest(seed.key),
                        tokens.mask(seed.key),
                        user_id,
                        self.clock.now(),
                    ),
                )

    def create(self, user_id: str, label: str = "") -> tuple[ApiKey, str]:
        """A new key for `user_id`; the secret is returned here and never again."""
        secret = tokens.make(tokens.API_KEY_PREFIX)
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO api_keys (digest, masked, user_id, label, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    tokens.digest(secret),
                    tokens.mask(secret),
                    user_id,
                    label,
                    self.clock.now(),
                ),
            )
        return self.get(int(cursor.lastrowid or 0)), secret

    def ensure_one(self, user_id: str) -> str | None:
        """Create the org's first key when none is active; return its secret if made."""
        if any(key.active for key in self.list()):
            return None
        return self.create(user_id, "created on first start")[1]

    def get(self, key_id: int) -> ApiKey:
        row = (
            self.store.connection()
            .execute("SELECT * FROM api_keys WHERE id = ?", (key_id,))
            .fetchone()
        )
        if row is None:
            raise UsageError(
                f"no API key with id {key_id}. Run 'zcrm-emulator keys list' to see the ids."
            )
        return _key(row)

    def list(self) -> list[ApiKey]:
        rows = self.store.connection().execute("SELECT * FROM api_keys ORDER BY id")
        return [_key(row) for row in rows]

    def revoke(self, key_id: int) -> ApiKey:
        key = self.get(key_id)
        if not key.active:
            raise UsageError(f"API key {key_id} ({key.masked}) is already revoked.")
        with self._write() as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ?",
                (self.clock.now(), key_id),
            )
        return self.get(key_id)

    def delete(self, key_id: int) -> None:
        """Remove a key for good (temporary keys of `invoke` and the test plugin)."""
        with self._write() as db:
            db.execute("DELETE FROM api_keys WHERE id = ?", (key_id,))

    def regenerate(self, user_id: str) -> tuple[ApiKey, str]:
        """Revoke every active key of `user_id` and make a new one, as Zoho's UI does."""
        with self._write() as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                (self.clock.now(), user_id),
            )
        return self.create(user_id, "regenerated")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with changing(self.store, self.stamp) as db:
            yield db

    def owner(self, secret: str) -> str | None:
        """The user id that owns the active key `secret`, or None."""
        return self._owners.get(tokens.digest(secret), self._lookup)

    def _lookup(self, wanted: str) -> str | None:
        row = (
            self.store.connection()
            .execute(
                "SELECT digest, user_id FROM api_keys WHERE digest = ? AND revoked_at IS NULL",
                (wanted,),
            )
            .fetchone()
        )
        # The lookup is by hash, so its timing says nothing about the secret; the
        # constant-time compare keeps it that way if the lookup ever changes.
        if row is None or not hmac.compare_digest(row["digest"], wanted):
            return None
        return str(row["user_id"])


def _key(row: object) -> ApiKey:
    r = dict(row)  # type: ignore[call-overload]
    return ApiKey(
        id=r["id"],
        masked=r["masked"],
        user_id=r["user_id"],
        label=r["label"],
        seeded=bool(r["seeded"]),
        created_at=r["created_at"],
        revoked_at=r["revoked_at"],
    )
