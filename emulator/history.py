"""Invocation history: every call recorded in the store, bounded, off the hot path.

Recording never blocks or fails the call it records: records go through a
bounded queue to one writer thread; when the queue is full a record is dropped
and counted, and a write error is reported on the console, never raised.

The writer wakes for the first record of a batch, sleeps BATCH_SECONDS, then
takes every record queued meanwhile and writes them in one transaction. A
record never wakes the writer by itself (only the first of a batch does):
under load that is one wake-up and one write for many calls, so the writer,
which shares the server's interpreter lock, takes little from the requests.
A record is visible at most BATCH_SECONDS after its call; `flush` and `close`
wake the writer at once.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import HistoryConfig
from .reporter import Invocation, Reporter
from .store import Store

QUEUE_SIZE = 10_000
BATCH_SECONDS = 0.1
BATCH_SIZE = 1000
# The writer encodes a batch CHUNK records at a time, sleeping YIELD_SECONDS in
# between: a request then waits at most one chunk's encoding for the interpreter
# lock (a tenth of a millisecond), not a whole batch's (one or two).
CHUNK = 16
YIELD_SECONDS = 0.0002
# History has its own database file next to state.db: its constant writes then
# never slow down or invalidate the reads of keys and tokens on the hot path.
MIGRATIONS = (
    """
    CREATE TABLE invocations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        function TEXT NOT NULL,
        data TEXT NOT NULL
    )
    """,
    "CREATE INDEX invocations_by_function ON invocations (function, id)",
)
FILE_NAME = "history.db"
_STOP = None
# Also in the queue: a threading.Event, set once everything before it is written.
_Item = Invocation | threading.Event | None


@dataclass(frozen=True)
class Recorded:
    id: int
    invocation: Invocation

    def to_json(self, full: bool = True) -> dict[str, Any]:
        data = {"id": self.id, **self.invocation._asdict()}
        if not full:
            for key in ("request", "response"):
                data.pop(key)
        return data


class History:
    def __init__(self, folder: Path, config: HistoryConfig, reporter: Reporter) -> None:
        self.store = Store(folder / FILE_NAME, MIGRATIONS)
        self.config = config
        self.reporter = reporter
        self.dropped = 0
        # A SimpleQueue: put and get in C, no lock of ours on the request's path.
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        # Set by flush and close only: records do not wake the writer.
        self._wake = threading.Event()

    def record(self, invocation: Invocation) -> None:
        if self.config.keep == 0:
            return
        if self._writer is None:
            self._start()
        if self._queue.qsize() >= QUEUE_SIZE:
            self.dropped += 1
            return
        self._queue.put(invocation)

    def flush(self) -> None:
        """Wait until every record so far is written (tests, `invoke`, shutdown)."""
        if self._writer is not None:
            written = threading.Event()
            self._queue.put(written)
            self._wake.set()
            written.wait()

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            self._wake.set()
            self._writer.join(timeout=10)
            self._writer = None
        self.store.close()

    def _start(self) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_forever, name="history-writer", daemon=True
                )
                self._writer.start()

    def _write_forever(self) -> None:
        while True:
            batch = self._gather()
            records = [r for r in batch if isinstance(r, Invocation)]
            try:
                self._write(records)
            except (sqlite3.Error, ValueError, TypeError) as exc:
                self.reporter.note(
                    f"history: could not record {len(records)} calls: {exc}"
                )
            for item in batch:
                if isinstance(item, threading.Event):
                    item.set()
            if batch[-1] is _STOP:
                return

    def _gather(self) -> list[_Item]:
        """The next batch: the first item, then whatever comes within
        BATCH_SECONDS of it (or until a flush or stop wakes the writer), up to
        BATCH_SIZE records and never past a stop."""
        batch = [self._queue.get()]
        if isinstance(batch[0], Invocation):
            self._wake.wait(BATCH_SECONDS)
        self._wake.clear()
        while batch[-1] is not _STOP and len(batch) < BATCH_SIZE:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, records: list[Invocation]) -> None:
        if not records:
            return
        rows = []
        for start in range(0, len(records), CHUNK):
            if start:
                time.sleep(YIELD_SECONDS)
            chunk = records[start : start + CHUNK]
            rows += [(r.at, r.function, json.dumps(self._fit(r))) for r in chunk]
        with self.store.transaction() as db:
            db.executemany(
                "INSERT INTO invocations (at, function, data) VALUES (?, ?, ?)", rows
            )
            db.execute(
                "DELETE FROM invocations WHERE id <= (SELECT MAX(id) FROM invocations) - ?",
                (self.config.keep,),
            )

    def _fit(self, record: Invocation) -> dict[str, Any]:
        data = record._asdict()
        limit = self.config.body_bytes
        data["response"] = _cut(record.response, limit)
        if record.request is not None:
            data["request"] = {
                **record.request,
                "body": _cut(record.request["body"], limit),
            }
        return data

    def list(
        self, function: str | None = None, limit: int = 50, after: int = 0
    ) -> list[Recorded]:
        """Recent calls, oldest first; `after` gives only calls newer than that id."""
        sql = "SELECT id, data FROM invocations WHERE id > ?"
        args: list[Any] = [after]
        if function:
            sql += " AND function = ?"
            args.append(function)
        sql += " ORDER BY id DESC LIMIT ?"
        rows = self.store.connection().execute(sql, [*args, limit]).fetchall()
        return [_recorded(row) for row in reversed(rows)]

    def get(self, invocation_id: int) -> Recorded | None:
        row = (
            self.store.connection()
            .execute("SELECT id, data FROM invocations WHERE id = ?", (invocation_id,))
            .fetchone()
        )
        return _recorded(row) if row else None


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more characters not kept]"


def _recorded(row: sqlite3.Row) -> Recorded:
    data = json.loads(row["data"])
    data["info"] = tuple(data["info"])
    data["printed"] = tuple(data["printed"])
    return Recorded(row["id"], Invocation(**data))
