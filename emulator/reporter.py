"""What the server tells the person running it: one line per call, reloads, warnings.

The app only calls a `Reporter`; the CLI decides where lines go (a terminal,
a pipe, nowhere). Nothing here writes to stdout by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Invocation:
    method: str
    function: str
    status: int
    auth_type: str
    duration_ms: float
    version: str
    code: str  # "success", or the Zoho error code
    message: str = ""
    info: tuple[str, ...] = ()
    printed: tuple[str, ...] = ()


class Reporter(Protocol):
    def invocation(self, record: Invocation) -> None: ...

    def note(self, text: str) -> None: ...


class NullReporter:
    def invocation(self, record: Invocation) -> None:
        return None

    def note(self, text: str) -> None:
        return None


class LineReporter:
    """Plain text lines through `echo` (the CLI passes click.echo)."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo

    def invocation(self, record: Invocation) -> None:
        version = f" v{record.version}" if record.version else ""
        self.echo(
            f"{record.method} {record.function} -> {record.status} {record.code}"
            f" [{record.auth_type or '-'}] {record.duration_ms:.1f}ms{version}"
        )
        if record.message and record.code != "success":
            self.echo(f"    error: {record.message}")
        for line in record.info:
            self.echo(f"    info: {line}")
        for line in record.printed:
            self.echo(f"    print: {line}")

    def note(self, text: str) -> None:
        self.echo(text)
