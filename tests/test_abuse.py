"""Resource abuse: each runaway function gets its exact envelope, while a call to
another function is served meanwhile and the pool stays whole afterwards.

One app and one pool of two workers serve the whole module, once per isolation
mode (limits.isolation): a worker pool costs a process start per worker, and
reusing it also shows that no abuse affects a later call. The limits are small
(tests/sandbox_support.py) so the suite stays fast; the time-limit cases take
about a second each.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import DEMO_KEY, execute_url, write_config
from sandbox_support import (
    ISOLATIONS,
    TEST_LIMITS,
    error_envelope,
    limit_envelope,
    wait_until,
)
from werkzeug.test import Client

from emulator import config as config_module
from emulator.app import Emulator, create_app
from emulator.workers import WorkerRunner

ABUSE = {
    "spin": """
        def handler():
            while True:
                pass
        """,
    "c_loop": """
        import itertools
        def handler():
            return sum(itertools.repeat(1))
        """,
    "big_power": """
        def handler():
            info("computing")
            return 10**10**8
        """,
    "regex": """
        import re
        def handler():
            return bool(re.match(r"(a+)+$", "a" * 40 + "b"))
        """,
    "huge_string": """
        def handler():
            return len("x" * 10**9)
        """,
    "huge_list": """
        def handler():
            return len([0] * 10**9)
        """,
    "growing": """
        def handler():
            chunks = []
            while True:
                chunks.append("y" * 10**6)
        """,
    "deep": """
        def down(n):
            return down(n + 1)
        def handler():
            return down(0)
        """,
    "deep_data": """
        import json
        def handler():
            value = []
            for i in range(5000):
                value = [value]
            return json.dumps(value)
        """,
    "print_flood": """
        def handler():
            while True:
                print("x" * 100)
        """,
    "info_flood": """
        def handler():
            while True:
                info("again")
        """,
    "huge_return": """
        def handler():
            return "x" * 5000
        """,
    "comprehension": """
        def handler():
            return len([[i for i in range(1000)] for j in range(1000)])
        """,
    "swallow": """
        def handler():
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
        """,
    "exit": """
        def handler():
            raise SystemExit(3)
        """,
    "nested_return": """
        def handler():
            value = []
            for i in range(200):
                value = [value]
            return value
        """,
    "neighbour": """
        def handler(n: int = 1):
            return {"n": n}
        """,
}


@pytest.fixture(scope="module", params=ISOLATIONS)
def app(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Emulator]:
    root = tmp_path_factory.mktemp("abuse")
    (root / "functions").mkdir()
    for name, source in ABUSE.items():
        (root / "functions" / f"{name}.py").write_text(textwrap.dedent(source))
    write_config(
        root,
        {
            "api_keys": [{"key": DEMO_KEY}],
            "limits": {**TEST_LIMITS, "workers": 2, "isolation": request.param},
        },
    )
    config = config_module.load(root / "config.yaml")
    emulator = create_app(config, runner=WorkerRunner.from_config(config))
    yield emulator
    emulator.close()


def abuse_with_neighbour(app: Emulator, name: str) -> tuple[Any, Any, bool]:
    """Call `name` in a thread; once it runs in a worker, call the neighbour.

    Returns the abusive response, the neighbour's response, and whether the
    abusive call was still running when the neighbour's answer came back.
    """
    runner = app.runner
    assert isinstance(runner, WorkerRunner)
    answers: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: answers.update(abuse=Client(app).get(execute_url(name)))
    )
    thread.start()
    wait_until(lambda: runner.busy() >= 1 or not thread.is_alive())
    neighbour = Client(app).get(execute_url("neighbour", {"n": "7"}))
    still_running = thread.is_alive()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return answers["abuse"], neighbour, still_running


CASES = [
    pytest.param(
        "spin",
        limit_envelope("spin", 4, "statements", 10000),
        False,
        id="infinite-loop",
    ),
    pytest.param(
        "swallow",
        limit_envelope("swallow", 8, "statements", 10000),
        False,
        id="loop-that-catches-the-limit",
    ),
    pytest.param(
        "comprehension",
        limit_envelope("comprehension", 3, "statements", 10000),
        False,
        id="nested-comprehension",
    ),
    pytest.param(
        "c_loop",
        limit_envelope("c_loop", None, "timeout_seconds", 1.0),
        True,
        id="uninterruptible-c-loop",
    ),
    pytest.param(
        "big_power",
        limit_envelope("big_power", 4, "timeout_seconds", 1.0, ["computing"]),
        True,
        id="10**10**8",
    ),
    pytest.param(
        "regex",
        limit_envelope("regex", 4, "timeout_seconds", 1.0),
        True,
        id="catastrophic-regex",
    ),
    pytest.param(
        "huge_string",
        limit_envelope("huge_string", 3, "memory_mb", 128),
        False,
        id="huge-string",
    ),
    pytest.param(
        "huge_list",
        limit_envelope("huge_list", 3, "memory_mb", 128),
        False,
        id="huge-list",
    ),
    pytest.param(
        "growing",
        limit_envelope("growing", 5, "memory_mb", 128),
        False,
        id="memory-growing-in-a-loop",
    ),
    pytest.param(
        "deep",
        limit_envelope("deep", 3, "recursion_depth", 1000),
        False,
        id="deep-recursion",
    ),
    pytest.param(
        "deep_data",
        limit_envelope("deep_data", 7, "recursion_depth", 1000),
        False,
        id="deeply-nested-data-to-json",
    ),
    pytest.param(
        "print_flood",
        limit_envelope("print_flood", 4, "print_bytes", 1000),
        False,
        id="print-flood",
    ),
    pytest.param(
        "info_flood",
        limit_envelope("info_flood", 4, "info_lines", 3, ["again"] * 3),
        False,
        id="info-flood",
    ),
    pytest.param(
        "huge_return",
        limit_envelope("huge_return", None, "response_bytes", 2000),
        False,
        id="huge-return",
    ),
    pytest.param(
        "nested_return",
        error_envelope(
            "nested_return",
            None,
            "ValueError: the return value is nested more than 100 levels deep",
        ),
        False,
        id="deeply-nested-return",
    ),
    pytest.param(
        "exit", error_envelope("exit", 3, "SystemExit: 3"), False, id="system-exit"
    ),
]


@pytest.mark.parametrize(("name", "expected", "time_bound"), CASES)
def test_abuse_gets_its_envelope_while_others_are_served(
    app: Emulator, name: str, expected: dict[str, Any], time_bound: bool
) -> None:
    abuse, neighbour, still_running = abuse_with_neighbour(app, name)
    assert (abuse.status_code, abuse.json) == (500, expected)
    assert neighbour.status_code == 200
    assert neighbour.json["details"]["output"] == '{"n":7}'
    if time_bound:  # the neighbour did not wait for the runaway call
        assert still_running
    after = Client(app).get(execute_url("neighbour", {"n": "8"}))
    assert after.json["details"]["output"] == '{"n":8}'


def test_the_pool_keeps_its_size_after_the_abuse(app: Emulator) -> None:
    runner = app.runner
    assert isinstance(runner, WorkerRunner)
    assert len(runner.pids()) == 2
    assert runner.busy() == 0
