import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import open_files

from emulator.errors import ConfigError
from emulator.store import Stamp, Store

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


# -- Stamp: a change counter in shared memory --------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_a_fresh_stamp_counts_from_zero_in_an_8_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "x.stamp"
    stamp = Stamp(path)
    assert stamp.read() == 0
    assert path.read_bytes() == bytes(8)
    stamp.touch()
    stamp.touch()
    assert stamp.read() == 2
    assert path.read_bytes() == (2).to_bytes(8, sys.byteorder)


def test_another_stamp_on_the_file_sees_every_touch_and_the_file_stays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.stamp"
    first, second = Stamp(path), Stamp(path)
    inode = path.stat().st_ino
    for count in range(1, 6):
        (first if count % 2 else second).touch()
        assert first.read() == second.read() == count
    assert path.stat().st_ino == inode  # never replaced: every mapping stays on it


@pytest.mark.parametrize(
    ("content", "start"),
    [
        pytest.param(b"", 0, id="empty"),
        pytest.param(b"\x05\x00", 5, id="short"),
        pytest.param((7).to_bytes(8, sys.byteorder), 7, id="old-format-8-bytes"),
        pytest.param((9).to_bytes(8, sys.byteorder) + b"tail", 9, id="longer"),
        pytest.param(b"\xff" * 8, 2**64 - 1, id="about-to-wrap"),
    ],
)
def test_a_file_of_another_size_or_content_is_used_as_it_is(
    tmp_path: Path, content: bytes, start: int
) -> None:
    path = tmp_path / "x.stamp"
    path.write_bytes(content)
    stamp = Stamp(path)
    assert stamp.read() == start
    stamp.touch()
    assert stamp.read() == (start + 1) % 2**64
    assert len(path.read_bytes()) == max(8, len(content))


def test_a_stamp_in_an_unwritable_place_says_so(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConfigError) as caught:
        Stamp(tmp_path / "file" / "x.stamp")
    assert caught.value.message.startswith(
        f"cannot open the stamp file {tmp_path / 'file' / 'x.stamp'}: "
    )
    assert caught.value.message.endswith(
        "Check that the folder is writable, or set state_dir in config.yaml to a "
        "writable folder."
    )


TOUCHER = """
import sys
from pathlib import Path
from emulator.store import Stamp
stamp = Stamp(Path(sys.argv[1]))
print(stamp.read(), flush=True)
sys.stdin.readline()  # the other process touches meanwhile
print(stamp.read(), flush=True)
for _ in range(int(sys.argv[2])):
    stamp.touch()
"""


def test_two_processes_see_each_others_touches_and_lose_none(tmp_path: Path) -> None:
    path = tmp_path / "x.stamp"
    stamp = Stamp(path)
    other = subprocess.Popen(
        [sys.executable, "-c", TOUCHER, str(path), "2000"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline() == "0\n"
        stamp.touch()  # seen by the mapping the other process already has
        other.stdin.write("go\n")
        other.stdin.flush()
        assert other.stdout.readline() == "1\n"
        touch_from_threads(stamp, threads=2, each=1000)  # while the other touches
        assert other.wait(timeout=60) == 0
    finally:
        other.kill()
        other.wait()
    assert stamp.read() == 1 + 2000 + 2000


def test_a_stamp_inherited_through_fork_is_still_shared(tmp_path: Path) -> None:
    """serve --processes and gunicorn --preload fork after the app (and its
    stamps) exist: the child's touches must count, and count once each."""
    stamp = Stamp(tmp_path / "x.stamp")
    stamp.touch()
    pid = os.fork()
    if pid == 0:  # the forked server process
        code = 1
        try:
            touch_from_threads(stamp, threads=1, each=2000)
            code = 0
        finally:
            os._exit(code)
    touch_from_threads(stamp, threads=2, each=1000)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert stamp.read() == 1 + 2000 + 2000


def touch_from_threads(stamp: Stamp, threads: int, each: int) -> None:
    def touch() -> None:
        for _ in range(each):
            stamp.touch()

    running = [threading.Thread(target=touch) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()


def test_a_forked_process_opens_its_own_connection(tmp_path: Path) -> None:
    """SQLite forbids using a connection opened before a fork (gunicorn
    --preload forks after the app opened its store)."""
    store = Store(tmp_path / "state.db")
    store.connection().execute("CREATE TABLE t (n INTEGER)")
    before = id(store.connection())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked server process
        code = 1
        try:
            os.close(read)
            with store.transaction() as db:
                db.execute("INSERT INTO t VALUES (1)")
            os.write(write, b"same" if id(store.connection()) == before else b"own")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.read(read, 10) == b"own"
    with store.transaction() as db:
        db.execute("INSERT INTO t VALUES (2)")
    assert [r[0] for r in store.connection().execute("SELECT n FROM t ORDER BY n")] == [
        1,
        2,
    ]


def test_close_closes_the_connections_of_every_thread(tmp_path: Path) -> None:
    """Left to the garbage collector, connections would be closed in whatever
    thread collects them (a stall in a busy server or test run)."""
    store = Store(tmp_path / "state.db")
    held = threading.Event()
    done = threading.Event()

    def hold() -> None:
        store.connection().execute("SELECT 1")
        held.set()
        done.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    store.connection().execute("SELECT 1")
    assert open_files(tmp_path / "state.db") >= 2
    store.close()
    assert open_files(tmp_path / "state.db") == 0
    done.set()
    thread.join()
    assert store.connection().execute("SELECT 1").fetchone()[0] == 1  # opens anew
    store.close()
