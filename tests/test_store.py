import sqlite3
import threading
from pathlib import Path

import pytest

from emulator.errors import ConfigError
from emulator.store import Store

FIRST = ("CREATE TABLE a (x INTEGER)",)


def test_migrations_run_once_and_in_order(tmp_path):
    Store(tmp_path / "s.db", FIRST)
    store = Store(tmp_path / "s.db", (*FIRST, "CREATE TABLE b (y INTEGER)"))
    tables = {
        row[0] for row in store.connection().execute("SELECT name FROM sqlite_master")
    }
    assert {"a", "b", "schema_migrations"} <= tables


def test_whitespace_changes_do_not_count_as_another_schema(tmp_path):
    Store(tmp_path / "s.db", FIRST)
    Store(tmp_path / "s.db", ("CREATE TABLE a   (x INTEGER)\n",))


def test_a_database_of_another_version_is_refused_with_what_to_do(tmp_path):
    Store(tmp_path / "s.db", FIRST)
    with pytest.raises(ConfigError) as caught:
        Store(tmp_path / "s.db", ("CREATE TABLE other (z INTEGER)",))
    assert caught.value.message == (
        f"the state database {tmp_path / 's.db'} was written by another version of "
        "zcrm-emulator (its schema step 1 differs from this version's). Move or delete "
        f"{tmp_path} to start with a fresh state; API keys, OAuth tokens and call "
        "history in it will be lost."
    )


def test_a_newer_database_is_refused(tmp_path):
    Store(tmp_path / "s.db", (*FIRST, "CREATE TABLE b (y INTEGER)"))
    with pytest.raises(ConfigError) as caught:
        Store(tmp_path / "s.db", FIRST)
    assert "its schema step 2 differs" in caught.value.message


def test_an_unwritable_place_says_so(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConfigError) as caught:
        Store(tmp_path / "file" / "s.db", FIRST)
    assert caught.value.message.startswith(f"cannot open the state database {tmp_path}")
    assert caught.value.message.endswith(
        "Check that the folder is writable, or set state_dir in config.yaml to a "
        "writable folder."
    )


def test_not_a_database_says_so(tmp_path):
    (tmp_path / "s.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError) as caught:
        Store(tmp_path / "s.db", FIRST)
    assert "file is not a database" in caught.value.message


def test_wal_mode(tmp_path):
    store = Store(tmp_path / "s.db", FIRST)
    assert store.connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sqlite3.connect(tmp_path / "s.db").execute(
        "SELECT COUNT(*) FROM a"
    ).fetchone() == (0,)


def connection_of_a_thread(store: Store, hold: threading.Event | None = None) -> int:
    """The id of the connection a new thread gets (holding it until `hold` is set)."""
    seen: list[int] = []

    def use() -> None:
        seen.append(id(store.connection()))
        if hold is not None:
            hold.wait(10)

    thread = threading.Thread(target=use)
    thread.start()
    if hold is None:
        thread.join()
    else:
        while not seen:
            threading.Event().wait(0.01)
    return seen[0]


def test_a_thread_that_ends_hands_its_connection_to_the_next(tmp_path: Path) -> None:
    """The server runs every HTTP connection in a new thread: opening an SQLite
    connection per request would cost more than the request's query."""
    store = Store(tmp_path / "state.db")
    first = connection_of_a_thread(store)
    assert connection_of_a_thread(store) == first
    assert store.connection() is store.connection()  # one per thread while it lives


def test_threads_alive_at_once_never_share_a_connection(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    hold = threading.Event()
    try:
        ids = {connection_of_a_thread(store, hold) for _ in range(3)}
        assert len(ids) == 3
        assert id(store.connection()) not in ids
    finally:
        hold.set()
