"""The JSON lines between server and worker, and reading them off a pipe."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from emulator import responses
from emulator.limits import Limits
from emulator.outcome import Outcome, Problem
from emulator.protocol import (
    ENVELOPE,
    EXIT_OUT_OF_MEMORY,
    HEAD_END,
    Heads,
    Job,
    JobLines,
    LineReader,
    LineTooLong,
    answer_line,
    death,
    outcome_from_line,
    outcome_line,
    write_all,
)


def test_a_job_is_one_json_line_and_comes_back_equal() -> None:
    job = Job(
        name="f",
        display="functions/f.py",
        version="abc",
        source="def handler():\n    return 1\n",
        entry_point="handler",
        kwargs={
            "day": dt.date(2026, 12, 4),
            "when": dt.datetime(
                2026,
                12,
                4,
                9,
                30,
                tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)),
            ),
            "data": {"type": "date", "value": "2026-01-01"},
            "text": "caf\u00e9\nline",
            "none": None,
        },
        limits=Limits(timeout_seconds=2.5),
    )
    line = job.to_line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    head, tail = line.split(HEAD_END)  # one tab: JSON escapes the rest
    assert json.loads(head)["source"] == job.source
    assert json.loads(tail)["user_id"] is None
    assert Job.from_line(line[:-1]) == job
    assert Job.from_line(line[:-1], Heads()) == job


def test_a_job_goes_without_its_source_once_the_worker_has_it() -> None:
    job = Job("f", "functions/f.py", "abc", "def handler():\n    return 1\n",
              "handler", {}, Limits())  # fmt: skip
    line = job.to_line(with_source=False)
    assert "source" not in json.loads(line.split(HEAD_END)[0])
    again = Job.from_line(line)
    assert again.source is None
    assert again.code_key == job.code_key == ("functions/f.py", "abc", "handler")


def test_an_outcome_crosses_as_json() -> None:
    outcome = Outcome(
        {"a": [1, "b"]},
        ("info",),
        ("printed",),
        1.5,
        Problem(
            "functions/f.py",
            3,
            "boom",
            kind="limit",
            hint="h",
            limit="statements",
            limit_value=5,
        ),
        42,
    )
    assert outcome_from_line(outcome_line(outcome)) == outcome


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    for fd in (read, write):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_lines_are_read_one_at_a_time(pipe: tuple[int, int]) -> None:
    read, write = pipe
    reader = LineReader(read)
    write_all(write, b'{"a":1}\n{"b"')
    assert reader.read_line(None, 100) == b'{"a":1}'
    write_all(write, b":2}\n")
    assert reader.read_line(None, 100) == b'{"b":2}'
    os.close(write)
    assert reader.read_line(None, 100) is None


def test_a_reader_gives_up_at_its_deadline(pipe: tuple[int, int]) -> None:
    with pytest.raises(TimeoutError):
        LineReader(pipe[0]).read_line(time.monotonic(), 100)


def test_a_reader_refuses_an_endless_line(pipe: tuple[int, int]) -> None:
    write_all(pipe[1], b"x" * 200)
    with pytest.raises(LineTooLong):
        LineReader(pipe[0]).read_line(None, 100)


LIMITS = Limits(timeout_seconds=2.0, memory_mb=128)


@pytest.mark.parametrize(
    ("code", "kind", "text"),
    [
        pytest.param(
            -signal.SIGXCPU,
            "limit",
            "time limit reached: the function ran longer than 2 s (functions/f.py).",
            id="cpu-limit",
        ),
        pytest.param(
            EXIT_OUT_OF_MEMORY,
            "limit",
            "memory limit reached: the function needed more than 128 MB (functions/f.py).",
            id="out-of-memory",
        ),
        pytest.param(
            -signal.SIGSEGV,
            "crash",
            "the worker process running the function died: killed by signal SIGSEGV "
            "(functions/f.py).",
            id="segfault",
        ),
        pytest.param(
            3,
            "crash",
            "the worker process running the function died: exited with code 3 "
            "(functions/f.py).",
            id="exit-code",
        ),
    ],
)
def test_a_death_is_explained(code: int, kind: str, text: str) -> None:
    problem = death("functions/f.py", "f", LIMITS, code)
    assert problem.kind == kind
    assert problem.text().startswith(text)


ANSWERED = [
    pytest.param("ok", id="str"),
    pytest.param({"a": [1, 2.5, None], "é": "ü"}, id="dict"),
    pytest.param([1, "two"], id="list"),
    pytest.param(None, id="none"),
    pytest.param(True, id="bool"),
    pytest.param(12, id="int"),
]


@pytest.mark.parametrize("value", ANSWERED)
def test_a_plain_success_crosses_as_the_envelope_the_server_would_build(
    value: object,
) -> None:
    job = Job("f", "functions/f.py", "abc", None, "handler", {}, Limits(), "42")
    outcome = Outcome(value, (), (), 1.0)
    line = answer_line(outcome, job)
    assert line.startswith(ENVELOPE) and line.endswith(b"\n") and line.count(b"\n") == 1
    back = outcome_from_line(line[:-1])
    assert back.envelope is not None
    built = responses.from_outcome(outcome, "42", Limits().response_bytes)
    assert back.envelope == built.get_data()
    assert responses.from_outcome(back, "42", 0).get_data() == back.envelope


@pytest.mark.parametrize(
    ("outcome", "limits", "user_id"),
    [
        pytest.param(Outcome("ok", ("note",), (), 1.0), Limits(), "42", id="info"),
        pytest.param(Outcome("ok", (), ("printed",), 1.0), Limits(), "42", id="print"),
        pytest.param(
            Outcome({"crmAPIResponse": {"status_code": 201}}, (), (), 1.0),
            Limits(), "42", id="custom-response",
        ),
        pytest.param(
            Outcome(None, (), (), 1.0, Problem("functions/f.py", 2, "boom")),
            Limits(), "42", id="problem",
        ),
        pytest.param(
            Outcome("x" * 200, (), (), 1.0), Limits(response_bytes=100), "42",
            id="over-the-response-limit",
        ),
        pytest.param(Outcome("ok", (), (), 1.0), Limits(), None, id="no-user"),
    ],
)  # fmt: skip
def test_anything_else_crosses_as_the_outcome(
    outcome: Outcome, limits: Limits, user_id: str | None
) -> None:
    job = Job("f", "functions/f.py", "abc", None, "handler", {}, limits, user_id)
    line = answer_line(outcome, job)
    assert line == outcome_line(outcome)
    assert outcome_from_line(line[:-1]) == outcome


def test_job_lines_encode_the_same_line_as_the_job_itself() -> None:
    lines = JobLines(kept=2)
    for n in range(
        5
    ):  # more versions than kept: the heads are dropped, lines stay right
        job = Job("f", "functions/f.py", f"v{n % 3}", "def handler(x):\n    return x\n",
                  "handler", {"x": {"n": n}, "day": dt.date(2026, 12, n + 1)},
                  Limits(timeout_seconds=n + 1), "42")  # fmt: skip
        for with_source in (False, True, False):
            line = lines.line(job, with_source)
            assert line == job.to_line(with_source)
            assert Job.from_line(line) == (
                job if with_source else dataclasses.replace(job, source=None)
            )


def test_a_worker_decodes_each_head_once_and_keeps_no_source() -> None:
    heads = Heads(kept=2)
    for n in range(6):  # more versions than kept: the heads are dropped
        job = Job("f", "functions/f.py", f"v{n % 3}", "def handler(x):\n    return x\n",
                  "handler", {"x": n, "day": dt.date(2026, 12, n + 1)},
                  Limits(timeout_seconds=n % 3 + 1), "42")  # fmt: skip
        kept = len(heads)
        first = Job.from_line(job.to_line(with_source=True)[:-1], heads)
        assert first == job
        assert len(heads) == kept  # a head with its source comes once: not kept
        for _ in range(2):
            again = Job.from_line(job.to_line(with_source=False)[:-1], heads)
            assert again == dataclasses.replace(job, source=None)
        assert 1 <= len(heads) <= 2
