"""The SQLite store: one file shared by every server process of a project.

WAL mode lets several processes (and threads) read while one writes. Each
thread gets its own connection; connections belong to the `Store` instance, so
two apps in one process never share one. A thread's connection goes back to
the store's pool when the thread ends, for the next thread: the server runs
each HTTP connection in a new thread, and opening an SQLite connection costs
far more than the query a request makes.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
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
        self.release = weakref.finalize(self, pool.append, db)


class Store:
    def __init__(self, path: Path, migrations: tuple[str, ...] = MIGRATIONS) -> None:
        self.path = path
        self.migrations = migrations
        self._local = threading.local()
        self._pool: list[sqlite3.Connection] = []  # connections no thread holds
        # Connections a forked process inherited: never used, never closed there.
        self._inherited: list[sqlite3.Connection] = []
        self._opened: list[sqlite3.Connection] = []  # by this process, for close()
        os.register_at_fork(after_in_child=_after_fork(self))
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

    def forget_inherited(self) -> None:
        """In a forked child (gunicorn --preload forks after building the app):
        SQLite must not be used through a connection opened before the fork,
        so the child opens its own. The inherited ones are kept, unused and
        unclosed, as closing them could disturb the parent's."""
        self._inherited += self._let_go()

    def close(self) -> None:
        """Close every connection this store opened, whichever thread holds it:
        the app is done. Left to the garbage collector, they would be closed in
        whatever thread happens to collect them, at any time."""
        for db in self._let_go():
            db.close()

    def _let_go(self) -> list[sqlite3.Connection]:
        """Every connection this store opened, no longer leased or pooled: the
        next use of the store opens a new one."""
        lease: _Lease | None = getattr(self._local, "lease", None)
        if lease is not None:
            lease.release.detach()
        self._local = threading.local()
        self._pool = []
        opened, self._opened = self._opened, []
        return opened

    def _connect(self) -> sqlite3.Connection:
        # Used by one thread at a time (a lease), not always the one that opened it.
        db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        self._opened.append(db)
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
    """A change counter shared by every process of a project, in a small file
    next to the database. Each change of a stamped table bumps it after the
    commit, so a process can cache lookups in that table and check the cache by
    reading the counter: a load from shared memory, no system call.

    File format: 8 bytes, one unsigned 64-bit integer in the machine's byte
    order (the file never leaves the machine), the number of touches so far,
    wrapping at 2**64. Bytes past the 8th are ignored; a shorter file (one just
    created, or cut short) is grown with zero bytes. The file of the earlier
    design (8 random bytes, replaced at every touch) reads as some count and
    works as it is.

    Every process maps the file (MAP_SHARED), so a touch in one is seen by the
    next read in all. The file is created when missing and never replaced or
    deleted: a new file would leave every existing mapping on the old one. A
    mapping inherited through fork (gunicorn --preload builds the app, then
    forks) is still the shared one. The counter is loaded and stored as one
    aligned 8-byte word (a memoryview of format 'Q'), which 64-bit CPUs read and
    write whole, so a reader never sees half of a touch. Touches from several
    processes and threads take turns under flock() on a descriptor opened for
    that touch: a flock belongs to the open file, so a descriptor kept open and
    inherited through fork would be one lock shared with the parent, excluding
    nothing.
    """

    SIZE = 8

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._count = _map_counter(path, self.SIZE)
        except OSError as exc:
            raise ConfigError(
                f"cannot open the stamp file {path}: {exc}. Check that the folder "
                f"is writable, or set state_dir in config.yaml to a writable folder."
            ) from exc

    def touch(self) -> None:
        """Count one change (call it after the change is committed)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._count[0] = (self._count[0] + 1) & 0xFFFF_FFFF_FFFF_FFFF
        finally:
            os.close(fd)  # which releases the lock

    def read(self) -> int:
        """The number of touches so far (0 in a fresh state folder)."""
        return int(self._count[0])


def _map_counter(path: Path, size: int) -> memoryview:
    """The first `size` bytes of `path`, mapped shared, as one unsigned 64-bit word."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size < size:
            _grow(fd, size)
        shared = mmap.mmap(
            fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE
        )
    finally:
        os.close(fd)  # the mapping keeps its own copy of the descriptor
    return memoryview(shared).cast("Q")


def _grow(fd: int, size: int) -> None:
    """Zero-fill the file up to `size` bytes while no touch runs. The lock is
    released by hand: the mapping's copy of the descriptor would hold it."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _after_fork(store: Store) -> Callable[[], None]:
    """The at-fork hook of a store, holding it weakly (hooks are never removed)."""
    held = weakref.ref(store)

    def forget() -> None:
        alive = held()
        if alive is not None:
            alive.forget_inherited()

    return forget


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
