"""The one source of time for the store and the token issuer.

The time is the wall clock plus an offset. The offset lives in the store, so
every server process of a project and the CLI agree on it: moving the clock
forward (`zcrm-emulator clock advance 1h`, or the emulator-only endpoint) makes
tokens expire everywhere at once, without waiting. A clock without a store keeps
its offset in memory (unit tests, one-off tools).

Every call reads the time, so the offset is cached per process behind a stamp
(`clock.stamp` beside the database) that every move of the clock touches, from
any process, the CLI or the clock endpoint: a move counts from the next call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from .cache import StampedCache, changing
from .errors import UsageError
from .store import Stamp, Store

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
STAMP_NAME = "clock.stamp"


class Clock:
    """Wall-clock time plus an offset that only moves forward (or back to zero)."""

    def __init__(
        self, store: Store | None = None, *, wall: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.wall = wall
        self._offset = 0.0
        self._shared = None if store is None else SharedOffset(store)

    def now(self) -> float:
        return self.wall() + self.offset()

    def offset(self) -> float:
        return self._offset if self._shared is None else self._shared.get()

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds`; return the new offset."""
        if seconds < 0:
            raise UsageError(
                f"the clock only moves forward; found {seconds:g} seconds. Pass a "
                f"positive duration, or reset the clock to the wall time."
            )
        return self._set(lambda current: current + seconds)

    def reset(self) -> float:
        """Back to the wall time (offset zero)."""
        return self._set(lambda _: 0.0)

    def _set(self, change: Callable[[float], float]) -> float:
        if self._shared is None:
            self._offset = change(self._offset)
            return self._offset
        return self._shared.set(change)


class SharedOffset:
    """The offset in the store's one-row clock table, cached behind its stamp."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.stamp = Stamp(store.path.with_name(STAMP_NAME))
        self._cache: StampedCache[None, float] = StampedCache(self.stamp, 1)

    def get(self) -> float:
        return self._cache.get(None, self._read)

    def _read(self, _: None) -> float:
        row = (
            self.store.connection()
            .execute("SELECT offset_seconds FROM clock WHERE id = 1")
            .fetchone()
        )
        return float(row[0]) if row else 0.0

    def set(self, change: Callable[[float], float]) -> float:
        with changing(self.store, self.stamp) as db:
            row = db.execute("SELECT offset_seconds FROM clock WHERE id = 1").fetchone()
            offset = change(float(row[0]) if row else 0.0)
            db.execute(
                "INSERT INTO clock (id, offset_seconds) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET offset_seconds = excluded.offset_seconds",
                (offset,),
            )
        return offset


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `1h`, `2d` -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(
            f"expected a duration such as 90, 90s, 15m, 1h or 2d; found '{text}'."
        )
    return float(match.group(1)) * _UNITS[match.group(2)]
