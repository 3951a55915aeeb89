"""The SQLite store: one file shared by every server process of a project.

WAL mode lets several processes (and threads) read while one writes. Each
thread gets its own connection; connections belong to the `Store` instance, so
two apps in one process never share one. A thread's connection goes back to
the store's pool when the thread ends, for the next thread: the server runs
each HTTP connection in a new thread, and opening an SQLite connection costs
far more than the query a request makes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError

# Each entry is one SQL statement, run once, in order; PRAGMA user_version
# records how many ran. Append, never edit: old databases replay from their count.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        masked TEXT NOT NULL,
        user_id TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        seeded INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        revoked_at REAL
    )
    """,
    # The clock's offset (emulator.clock), one row, shared by every process.
    """
    CREATE TABLE clock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        offset_seconds REAL NOT NULL DEFAULT 0
    )
    """,
    # OAuth clients (emulator.clients): seeded from config.yaml or added by the CLI.
    """
    CREATE TABLE oauth_clients (
        client_id TEXT PRIMARY KEY,
        secret_digest TEXT NOT NULL,
        name TEXT NOT NULL,
        redirect_uris TEXT NOT NULL,
        user_id TEXT NOT NULL,
        seeded INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    )
    """,
    # Grant codes (emulator.oauth): single use, short-lived; only hashes are kept.
    """
    CREATE TABLE oauth_codes (
        digest TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        access_type TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL
    )
    """,
    # Access and refresh tokens (emulator.oauth); an access token minted from a
    # refresh token points at it through parent_id.
    """
    CREATE TABLE oauth_tokens (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        masked TEXT NOT NULL,
        kind TEXT NOT NULL,
        grant_type TEXT NOT NULL,
        client_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        parent_id INTEGER,
        created_at REAL NOT NULL,
        expires_at REAL,
        revoked_at REAL,
        revoked_reason TEXT
    )
    """,
    "CREATE INDEX oauth_tokens_parent ON oauth_tokens (parent_id, created_at)",
    "CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id, kind, created_at)",
)


class _Lease:
    """One thread's hold on a pooled connection: when the thread ends, its
    thread-local data goes, and with it the lease, which puts the connection
    back."""

    def __init__(self, db: sqlite3.Connection, pool: list[sqlite3.Connection]) -> None:
        self.db = db
        weakref.finalize(self, pool.append, db)


class Store:
    def __init__(self, path: Path, migrations: tuple[str, ...] = MIGRATIONS) -> None:
        self.path = path
        self.migrations = migrations
        self._local = threading.local()
        self._pool: list[sqlite3.Connection] = []  # connections no thread holds
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self.transaction() as db:
                self._migrate(db)
        except StateMismatch:
            raise
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the state database {path}: {exc}. Check that the folder "
                f"is writable, or set state_dir in config.yaml to a writable folder."
            ) from exc

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (taken from the pool, or opened, at its first use)."""
        lease: _Lease | None = getattr(self._local, "lease", None)
        if lease is None:
            try:
                db = self._pool.pop()  # atomic: one thread gets each connection
            except IndexError:
                db = self._connect()
            lease = self._local.lease = _Lease(db, self._pool)
        return lease.db

    def _connect(self) -> sqlite3.Connection:
        # Used by one thread at a time (a lease), not always the one that opened it.
        db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so two processes never deadlock on upgrade."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Run the migrations not run yet. Each run one is recorded with a digest
        of its SQL, so a database written by another build (whose migrations
        differ) is refused with a message instead of failing later on a missing
        table."""
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (number INTEGER PRIMARY KEY, digest TEXT NOT NULL)"
        )
        done = {
            row[0]: row[1]
            for row in db.execute("SELECT number, digest FROM schema_migrations")
        }
        for number, sql in enumerate(self.migrations, start=1):
            digest = _digest(sql)
            if number not in done:
                db.execute(sql)
                db.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?)", (number, digest)
                )
            elif done[number] != digest:
                raise StateMismatch(self.path, number)
        if len(done) > len(self.migrations):
            raise StateMismatch(self.path, len(self.migrations) + 1)


class Stamp:
    """A file next to the database that changes whenever some table changes, so
    a process can keep a cache of that table and check it with one stat() call
    instead of a query; every process and the CLI touch it after they commit."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def touch(self) -> None:
        fresh = self.path.with_name(
            f"{self.path.name}.{os.getpid()}.{threading.get_ident()}"
        )
        fresh.write_bytes(os.urandom(8))
        os.replace(fresh, self.path)  # a new file each time: a new inode and times

    def read(self) -> tuple[int, int, int]:
        """What identifies the current version; (0, 0, 0) before the first touch."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _digest(sql: str) -> str:
    return hashlib.sha256(" ".join(sql.split()).encode()).hexdigest()[:16]


class StateMismatch(ConfigError):
    def __init__(self, path: Path, number: int) -> None:
        super().__init__(
            f"the state database {path} was written by another version of "
            f"zcrm-emulator (its schema step {number} differs from this version's). "
            f"Move or delete {path.parent} to start with a fresh state; API keys, "
            f"OAuth tokens and call history in it will be lost."
        )
