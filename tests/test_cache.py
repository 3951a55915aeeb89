"""StampedCache: lookups kept per process while a stamp says the table is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.cache import StampedCache, changing
from emulator.store import Stamp, Store


class Table:
    """A stand-in for a table: values by key, and how often each was asked for."""

    def __init__(self, **values: str) -> None:
        self.values = values
        self.asked: list[str] = []

    def load(self, key: str) -> str | None:
        self.asked.append(key)
        return self.values.get(key)


@pytest.fixture
def stamp(tmp_path: Path) -> Stamp:
    return Stamp(tmp_path / "t.stamp")


def test_an_answer_is_reused_until_the_stamp_moves(stamp: Stamp) -> None:
    table = Table(a="1")
    cache: StampedCache[str, str | None] = StampedCache(stamp, 10)
    assert cache.get("a", table.load) == "1"
    table.values["a"] = "2"  # a change that nobody stamped is not seen...
    assert cache.get("a", table.load) == "1"
    assert cache.get("b", table.load) is None  # (misses are cached as well)
    assert cache.get("b", table.load) is None
    stamp.touch()  # ...until the stamp moves, in this process or another
    assert cache.get("a", table.load) == "2"
    assert cache.get("b", table.load) is None
    assert table.asked == ["a", "b", "a", "b"]


def test_an_answer_overtaken_by_a_change_is_used_once_only(stamp: Stamp) -> None:
    table = Table(a="old")
    cache: StampedCache[str, str | None] = StampedCache(stamp, 10)

    def overtaken(key: str) -> str | None:
        found = table.load(key)  # read before the change commits...
        table.values["a"] = "new"
        stamp.touch()  # ...which touches the stamp after its commit
        return found

    assert cache.get("a", overtaken) == "old"
    assert cache.get("a", table.load) == "new"


def test_the_cache_stays_within_its_limit(stamp: Stamp) -> None:
    table = Table(a="1", b="2", c="3")
    cache: StampedCache[str, str | None] = StampedCache(stamp, 2)
    for key in "abcabc":
        assert cache.get(key, table.load) == table.values[key]
        assert len(cache._entries) <= 2
    assert cache.get("c", table.load) == "3"
    assert table.asked == list("abcabc")  # the last one asked for is still kept


def test_changing_touches_the_stamp_after_a_commit_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db", ("CREATE TABLE t (x INTEGER)",))
    stamp = Stamp(tmp_path / "t.stamp")
    with changing(store, stamp) as db:
        db.execute("INSERT INTO t VALUES (1)")
        assert stamp.read() == 0  # not before the commit: a lookup could miss it
    assert stamp.read() == 1
    with pytest.raises(ZeroDivisionError), changing(store, stamp) as db:
        db.execute("INSERT INTO t VALUES (2)")
        1 / 0  # noqa: B018
    assert stamp.read() == 1
    assert [row[0] for row in store.connection().execute("SELECT x FROM t")] == [1]
