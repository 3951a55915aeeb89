import sqlite3

import pytest
from conftest import DEMO_KEY, execute_url, write_config
from sandbox_support import wait_until
from werkzeug.test import Client

from emulator import history as history_module
from emulator.config import HistoryConfig
from emulator.history import History
from emulator.reporter import Invocation, NullReporter


def record(n: int, function: str = "f") -> Invocation:
    return Invocation(
        at=1000.0 + n, method="GET", function=function, status=200, auth_type="apikey",
        user_id="u", duration_ms=1.0, version="v", code="success", info=(f"i{n}",),
        request={"params": {}, "body": "b" * n, "headers": {}}, response="r" * n,
    )  # fmt: skip


@pytest.fixture
def history(tmp_path):
    made = History(tmp_path, HistoryConfig(keep=5, body_bytes=10), NullReporter())
    yield made
    made.close()


def test_records_come_back_oldest_first_and_bounded(history):
    for n in range(8):
        history.record(record(n))
    history.flush()
    entries = history.list()
    assert [e.invocation.info for e in entries] == [
        ("i3",),
        ("i4",),
        ("i5",),
        ("i6",),
        ("i7",),
    ]
    assert history.get(entries[0].id).invocation == entries[0].invocation


def test_filter_by_function_and_after(history):
    history.record(record(1, "a"))
    history.record(record(2, "b"))
    history.record(record(3, "a"))
    history.flush()
    first, second = history.list("a")
    assert [e.invocation.function for e in history.list(after=first.id)] == ["b", "a"]
    assert history.list("a", limit=1) == [second]


def test_long_bodies_are_cut_with_a_note(history):
    history.record(record(15))
    history.flush()
    [entry] = history.list()
    assert entry.invocation.response == "r" * 10 + "... [5 more characters not kept]"
    assert (
        entry.invocation.request["body"]
        == "b" * 10 + "... [5 more characters not kept]"
    )


def test_records_are_written_without_a_flush(history):
    history.record(record(1))
    assert wait_until(lambda: [r.invocation.at for r in history.list()] == [1001.0])


def test_a_flush_amid_records_writes_them_all_and_later_ones_still_come(history):
    for n in range(3):
        history.record(record(n))
    history.flush()
    assert len(history.list()) == 3
    history.record(record(3))
    history.flush()
    assert [r.invocation.at for r in history.list()] == [1000.0, 1001.0, 1002.0, 1003.0]


def test_the_writer_encodes_a_batch_in_chunks_and_lets_requests_in_between(
    tmp_path, monkeypatch
):
    """A batch's JSON is encoded under the interpreter lock; in chunks, with a
    sleep between them, a request waits for one chunk, not the whole batch."""
    made = History(tmp_path, HistoryConfig(keep=100), NullReporter())
    naps: list[float] = []
    monkeypatch.setattr(history_module.time, "sleep", naps.append)
    count = 2 * history_module.CHUNK + 1
    made._write([record(n) for n in range(count)])  # one batch of three chunks
    assert naps == [history_module.YIELD_SECONDS] * 2
    assert [e.invocation.info for e in made.list(limit=100)] == [
        (f"i{n}",) for n in range(count)
    ]
    made.close()


def test_close_writes_what_is_queued(tmp_path):
    history = History(tmp_path, HistoryConfig(), NullReporter())
    for n in range(5):
        history.record(record(n))
    history.close()
    reopened = History(tmp_path, HistoryConfig(), NullReporter())
    assert len(reopened.list()) == 5


def test_keep_zero_records_nothing(tmp_path):
    history = History(tmp_path, HistoryConfig(keep=0), NullReporter())
    history.record(record(1))
    history.flush()
    assert history.list() == []


def test_a_write_failure_is_a_note_never_an_error(tmp_path):
    notes = []

    class Notes(NullReporter):
        def note(self, text):
            notes.append(text)

    history = History(tmp_path, HistoryConfig(), Notes())
    history.store.connection().execute("DROP TABLE invocations")
    history.record(record(1))  # does not raise
    history.flush()
    history.close()
    assert notes == ["history: could not record 1 calls: no such table: invocations"]


def test_calls_are_recorded_with_secrets_masked(write_function, make_app):
    write_function(
        "hello", "def handler(crmAPIRequest):\n    info('x')\n    return 'hi'\n"
    )
    app = make_app()
    Client(app).get(
        execute_url("hello", {"q": "1"}),
        headers={"Authorization": "Bearer abcdefghijklmnopqrstu"},
    )
    app.history.flush()
    [entry] = app.history.list()
    call = entry.invocation
    assert (call.function, call.status, call.code, call.info) == (
        "hello",
        200,
        "success",
        ("x",),
    )
    assert call.request["params"] == {"q": "1"}
    assert call.request["headers"]["authorization"] == "Bearer ab…rstu"
    assert DEMO_KEY not in str(entry.to_json())
    assert '"output":"hi"' in call.response


def test_history_survives_a_restart(write_function, make_app):
    write_function("hello", "def handler():\n    return 'hi'\n")
    first = make_app()
    Client(first).get(execute_url("hello"))
    first.close()
    assert [e.invocation.function for e in make_app().history.list()] == ["hello"]


def test_history_stays_bounded_across_calls(project, write_function, make_app):
    write_config(project, {"api_keys": [{"key": DEMO_KEY}], "history": {"keep": 3}})
    write_function("hello", "def handler():\n    return 'hi'\n")
    app = make_app()
    client = Client(app)
    for _ in range(10):
        client.get(execute_url("hello"))
    app.history.flush()
    count = sqlite3.connect(app.history.store.path).execute(
        "SELECT COUNT(*) FROM invocations"
    )
    assert count.fetchone()[0] == 3


def test_a_custom_response_is_recorded_as_such(write_function, make_app):
    write_function(
        "own", "def handler():\n    return {'crmAPIResponse': {'status_code': 401}}\n"
    )
    app = make_app()
    Client(app).get(execute_url("own"))
    app.history.flush()
    [entry] = app.history.list()
    assert (entry.invocation.status, entry.invocation.code) == (401, "crmAPIResponse")
