"""What crosses the pipe between the server and a worker: JSON lines, never pickle.

Server -> worker: one `Job` per line, two JSON objects with a tab between
them: the head, the same for every call of a script version, and the tail,
this call's arguments and user. Worker -> server: one `Outcome` per
line (`Outcome.to_json`), built from plain JSON types inside the worker, or,
for a plain success, `=` and the rendered success envelope (`answer_line`). A
worker announces itself with one `{"ready": pid}` line when it can take jobs.

A job carries its script's source only the first time the server sends that
version to that worker; the worker caches the compiled code. A worker that
gets a job without source for code it does not have (evicted from its cache)
answers NEED_SOURCE, and the server sends the job again with it.

The arguments of a job are JSON values, except the top-level ones that
`arguments.coerce` turned into dates and date-times; those travel tagged.
`LineReader` and `write_all` move the lines over pipes (both sides use them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import signal
import time
from dataclasses import dataclass
from typing import Any

from . import responses
from .limits import MB, Limits
from .limits import problem as limit_problem
from .outcome import Outcome, Problem

# A worker that runs out of memory while reporting exits with this code.
EXIT_OUT_OF_MEMORY = 71
NEED_SOURCE = b'{"need_source":true}'
# Starts an answer line that is a rendered success envelope (answer_line);
# every other answer is an Outcome as a JSON object.
ENVELOPE = b"="
# Ends the part of a job line that is the same for every call of a version.
HEAD_END = b"\t"


@dataclass(frozen=True)
class Job:
    name: str  # the API name
    display: str  # the script's path as the user sees it
    version: str  # content hash: the worker caches compiled code by it
    source: str | None  # None: the worker has the code of this version
    entry_point: str
    kwargs: dict[str, Any]
    limits: Limits
    # The caller's: the worker may answer with the rendered success envelope
    # (answer_line); None: it answers with the Outcome.
    user_id: str | None = None

    @property
    def code_key(self) -> tuple[str, str, str]:
        """What a worker caches compiled code by."""
        return (self.display, self.version, self.entry_point)

    def to_line(self, with_source: bool = True) -> bytes:
        return self.head(with_source) + self.tail()

    def head(self, with_source: bool) -> bytes:
        """The line up to the call's own part (`tail`), a JSON object and a tab:
        the same for every call of a script version, so a runner encodes it
        once (`JobLines`) and a worker decodes it once (`Heads`). Compact JSON
        never holds a raw tab, so the first one ends the head."""
        data = {
            "name": self.name,
            "display": self.display,
            "version": self.version,
            "entry_point": self.entry_point,
            "limits": self.limits.to_json(),
        }
        if with_source and self.source is not None:
            data["source"] = self.source
        return _ENCODER.encode(data).encode() + HEAD_END

    def tail(self) -> bytes:
        """The rest of the line: this call's arguments and user."""
        kwargs = [_encode(k, v) for k, v in self.kwargs.items()]
        own = {"kwargs": kwargs, "user_id": self.user_id}
        return _ENCODER.encode(own).encode() + b"\n"

    @classmethod
    def from_line(cls, line: bytes, heads: Heads | None = None) -> Job:
        """The job of a line (without its newline); `heads` keeps the decoded
        heads of the lines it has seen."""
        head, _, tail = line.partition(HEAD_END)
        fixed = heads.get(head) if heads is not None else _decode_head(head)
        own = loads(tail)
        return cls(
            **fixed,
            kwargs=dict(_decode(item) for item in own["kwargs"]),
            user_id=own["user_id"],
        )


def _decode_head(head: bytes) -> dict[str, Any]:
    data: dict[str, Any] = loads(head)
    data.setdefault("source", None)
    data["limits"] = Limits.from_json(data["limits"])
    return data


class Heads:
    """Decoded job heads by their bytes: a worker gets the same head for every
    call of a script version (a head with its source comes once per version
    and worker, and is not kept)."""

    def __init__(self, kept: int = 1024) -> None:
        self.kept = kept
        self._decoded: dict[bytes, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._decoded)

    def get(self, head: bytes) -> dict[str, Any]:
        fixed = self._decoded.get(head)
        if fixed is None:
            fixed = _decode_head(head)
            if fixed["source"] is None:
                if len(self._decoded) >= self.kept:
                    self._decoded.clear()
                self._decoded[head] = fixed
        return fixed


class JobLines:
    """Encodes jobs, the head of each script version (without its source) once:
    most of a line is the same for every call of a function."""

    def __init__(self, kept: int = 1024) -> None:
        self.kept = kept
        self._heads: dict[tuple[str, str, str, str, Limits], bytes] = {}

    def line(self, job: Job, with_source: bool) -> bytes:
        if with_source and job.source is not None:
            return job.to_line(with_source)  # once per version and worker
        key = (job.name, *job.code_key, job.limits)
        head = self._heads.get(key)
        if head is None:
            if len(self._heads) >= self.kept:
                self._heads.clear()
            head = self._heads[key] = job.head(with_source=False)
        return head + job.tail()


# One encoder and decoder for every line: json.dumps with options builds a new
# encoder per call, and json.loads of bytes first guesses their encoding.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_DECODER = json.JSONDecoder()


def loads(line: bytes) -> Any:
    return _DECODER.decode(line.decode("utf-8"))


def dumps(data: Any) -> bytes:
    """One line of compact JSON (json escapes newlines inside strings)."""
    return _ENCODER.encode(data).encode() + b"\n"


def outcome_line(outcome: Outcome) -> bytes:
    return dumps(outcome.to_json())


def answer_line(outcome: Outcome, job: Job) -> bytes:
    """What a worker sends back for a job it ran.

    The common case (a plain value, no info or print lines, within the
    response limit) goes as the finished success envelope after ENVELOPE: the
    server, which serves every call under one interpreter lock, then sends it
    as it is, with no JSON work of its own. Anything else is the Outcome.
    """
    if (
        job.user_id is not None
        and outcome.problem is None
        and not outcome.info
        and not outcome.printed
        and not responses.is_custom(outcome.value)
    ):
        envelope = responses.dumps(responses.success_envelope(outcome, job.user_id))
        body = envelope.encode()
        if len(body) <= job.limits.response_bytes:
            return ENVELOPE + body + b"\n"
    return outcome_line(outcome)


def outcome_from_line(line: bytes) -> Outcome:
    if line[:1] == ENVELOPE:
        return Outcome(None, (), (), 0.0, envelope=line[1:])
    return Outcome.from_json(loads(line))


def _encode(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dt.datetime):
        return {"name": name, "type": "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"name": name, "type": "date", "value": value.isoformat()}
    return {"name": name, "type": "json", "value": value}


def _decode(item: dict[str, Any]) -> tuple[str, Any]:
    kind, value = item["type"], item["value"]
    if kind == "datetime":
        return item["name"], dt.datetime.fromisoformat(value)
    if kind == "date":
        return item["name"], dt.date.fromisoformat(value)
    return item["name"], value


def result_cap(limits: Limits) -> int:
    """The longest result line a reader accepts: the worker enforces the real
    limits; this only keeps a broken worker from filling the reader's memory."""
    return 8 * (limits.response_bytes + limits.print_bytes) + MB


class LineTooLong(Exception):
    pass


class LineReader:
    """Reads newline-terminated lines from a pipe, with a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()

    def read_line(self, deadline: float | None, max_bytes: int) -> bytes | None:
        """The next line without its newline; None at end of file.

        Raises TimeoutError when `deadline` (time.monotonic) passes first, and
        LineTooLong when more than `max_bytes` arrive without a newline.
        """
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > max_bytes:
                raise LineTooLong(f"more than {max_bytes} bytes without a newline")
            if deadline is not None and not self.wait(deadline):
                raise TimeoutError
            chunk = os.read(self.fd, 1 << 16)  # without a deadline: blocks here
            if not chunk:
                return None
            self.buffer += chunk

    def wait(self, deadline: float | None) -> bool:
        """Wait until the pipe is readable; False if the deadline passed first."""
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([self.fd], [], [], timeout)
        return bool(ready)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def death(display: str, name: str, limits: Limits, exit_code: int) -> Problem:
    """What a worker's death (a Popen-style exit code) means for the caller."""
    if exit_code == -signal.SIGXCPU:
        return limit_problem(
            display, None, name, "timeout_seconds", limits.timeout_seconds
        )
    if exit_code == EXIT_OUT_OF_MEMORY:
        return limit_problem(display, None, name, "memory_mb", limits.memory_mb)
    if exit_code < 0:
        try:
            how = f"killed by signal {signal.Signals(-exit_code).name}"
        except ValueError:
            how = f"killed by signal {-exit_code}"
        if exit_code == -signal.SIGKILL:
            how += " (the system may have run out of memory)"
    else:
        how = f"exited with code {exit_code}"
    return Problem(
        display,
        None,
        f"the worker process running the function died: {how}",
        kind="crash",
        hint="The emulator replaced it; other calls are not affected. A crash "
        "like this is a bug in the emulator or in Python: please report it with "
        "the script.",
    )
