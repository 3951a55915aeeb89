"""Per-process caches of lookups in the store, kept true by a `Stamp`.

A lookup reads the stamp of its table (a load from shared memory), then the
cache; an entry is used only when it was stored under the stamp's current
count. Every change of the table, in any process or the CLI, touches the stamp
after its commit (`changing`), so the next lookup everywhere misses and asks the
store again. The count is read before the store is asked and kept with the
answer: an answer that a change overtook carries an old count and is never
used again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from .store import Stamp, Store

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class StampedCache(Generic[K, V]):
    """At most `limit` answers of `load`, each valid while `stamp` has not moved."""

    def __init__(self, stamp: Stamp, limit: int) -> None:
        self.stamp = stamp
        self.limit = limit
        self._entries: dict[K, tuple[int, V]] = {}

    def get(self, key: K, load: Callable[[K], V]) -> V:
        count = self.stamp.read()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == count:
            return entry[1]
        value = load(key)
        if len(self._entries) >= self.limit and key not in self._entries:
            # Clearing is enough to stay bounded, and safe while other threads
            # read (evicting one entry would iterate a dict they may change).
            self._entries.clear()
        self._entries[key] = (count, value)
        return value


@contextmanager
def changing(store: Store, stamp: Stamp) -> Iterator[sqlite3.Connection]:
    """A write transaction on a stamped table; the stamp is touched after the
    commit (a lookup that sees the new count sees the change), not after a
    rollback."""
    with store.transaction() as db:
        yield db
    stamp.touch()
