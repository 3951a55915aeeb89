"""The one source of time for the store and the token issuer."""

from __future__ import annotations

import time


class Clock:
    """Wall-clock time plus an offset, so tests and demos can move time forward."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
