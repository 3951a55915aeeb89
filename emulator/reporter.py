"""What the server tells the person running it: one line per call, reloads, warnings.

The app only calls a `Reporter`; the CLI decides where lines go (a terminal,
a pipe, nowhere). Nothing here writes to stdout by itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import click


class Invocation(NamedTuple):
    """One call of the execute endpoint, as the console and the history see it.

    A NamedTuple rather than a frozen dataclass: one is made for every call,
    and a tuple is made several times faster."""

    at: float
    method: str
    function: str
    status: int
    auth_type: str
    user_id: str
    duration_ms: float
    version: str
    code: (
        str  # "success" (custom crmAPIResponse included), or the emulator's error code
    )
    message: str = ""
    info: tuple[str, ...] = ()
    printed: tuple[str, ...] = ()
    request: dict[str, Any] | None = None  # crmAPIRequest, secrets masked
    response: str = ""  # the body sent back


class Reporter(Protocol):
    def invocation(self, record: Invocation) -> None: ...

    def note(self, text: str) -> None: ...


class NullReporter:
    def invocation(self, record: Invocation) -> None:
        return None

    def note(self, text: str) -> None:
        return None


def _status_colour(status: int) -> str:
    if status >= 500:
        return "red"
    return "yellow" if status >= 400 else "green"


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def format_invocation(
    record: Invocation,
    *,
    color: bool = False,
    verbose: bool = False,
    stamp: bool = False,
) -> list[str]:
    """The console lines of one call: a summary, then error, info and print lines."""

    def paint(text: str, **style: Any) -> str:
        return click.style(text, **style) if color else text

    when = (
        time.strftime("%Y-%m-%d %H:%M:%S ", time.localtime(record.at)) if stamp else ""
    )
    version = f" v{record.version}" if record.version else ""
    status = paint(f"{record.status} {record.code}", fg=_status_colour(record.status))
    lines = [
        f"{when}{paint(record.method, bold=True)} {record.function} -> {status}"
        f" [{record.auth_type or '-'}] {record.duration_ms:.1f}ms{version}"
    ]
    if record.message and record.code != "success":
        lines.append(paint(f"    error: {record.message}", fg="red"))
    lines += [paint(f"    info: {line}", fg="cyan") for line in record.info]
    lines += [f"    print: {line}" for line in record.printed]
    if verbose and record.request is not None:
        lines.append(
            f"    params: {json.dumps(record.request['params'], ensure_ascii=False)}"
        )
        if record.request["body"]:
            lines.append(f"    body: {_short(record.request['body'])}")
    if verbose:
        lines.append(f"    response: {_short(record.response)}")
    return lines


class LineReporter:
    """Console lines through `echo` (the CLI passes click.echo).

    verbosity 0 (--quiet) shows notes only, 1 one line per call with its error,
    info and print lines, 2 (--verbose) also the params, body and response.
    """

    def __init__(
        self, echo: Callable[[str], None], *, color: bool = False, verbosity: int = 1
    ) -> None:
        self.echo = echo
        self.color = color
        self.verbosity = verbosity

    def invocation(self, record: Invocation) -> None:
        if self.verbosity == 0:
            return
        for line in format_invocation(
            record, color=self.color, verbose=self.verbosity > 1
        ):
            self.echo(line)

    def note(self, text: str) -> None:
        self.echo(text)
