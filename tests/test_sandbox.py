"""Compiling a script (errors as data, imports checked) and running it in-process."""

from __future__ import annotations

import pytest
from sandbox_support import script

from emulator import sandbox
from emulator.limits import Limits
from emulator.outcome import Outcome


def run(source: str, limits: Limits | None = None, **kwargs: object) -> Outcome:
    job = script(source, "s")
    assert job.compiled.code is not None, job.problems
    return sandbox.run(job.compiled.code, job.display, "handler", dict(kwargs), limits)


def test_every_problem_of_a_file_is_collected_in_line_order() -> None:
    job = script(
        """
        import os
        def main():
            x = 1
            return x.__class__
        from json import codecs
        """
    )
    assert [(p.line, p.message) for p in job.problems] == [
        (None, "expected a function named 'handler'; found 'main'. Rename it, or set "
         "entry_point in config.yaml."),
        (2, "import of 'os' is not allowed in functions. Functions cannot reach the "
         "host's files, processes or environment. Allowed modules: base64, calendar, "
         "collections, datetime, decimal, functools, hashlib, hmac, html, itertools, "
         "json, math, random, re, statistics, string, textwrap, time, typing, "
         "unicodedata, urllib.parse, uuid, zoneinfo."),
        (5, '"__class__" is an invalid attribute name because it starts with "_". '
         "Private and special attributes (those that start with '_') are not available "
         "in functions."),
        (6, "cannot import 'codecs' from 'json': module 'json' has no public name "
         "'codecs' in functions (modules it imports itself, and names it takes from "
         "other modules, are left out). Import what you need from its own module, if "
         "it is allowed."),
    ]  # fmt: skip


def test_a_syntax_error_names_its_line() -> None:
    job = script("def handler():\n    return (\n")
    assert [(p.line, p.message) for p in job.problems] == [
        (2, "SyntaxError: '(' was never closed at statement: 'return ('")
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def handler():\n    d = {}\n    d['k'] += 1\n",
         "Augmented assignment of object items and slices is not allowed. Write "
         "d[key] = d[key] + 1 instead of d[key] += 1."),
        ("def handler():\n    x: int = 1\n",
         "AnnAssign statements are not allowed. Variable annotations (x: int = 1) are "
         "not supported; write x = 1."),
        ("def handler():\n    global_n = 0\n    def inner():\n        nonlocal global_n\n",
         "Nonlocal statements are not allowed. Return the new value, or keep it in a "
         "dict or an object."),
    ],
)  # fmt: skip
def test_restrictedpython_errors_come_with_what_to_do_instead(
    source: str, message: str
) -> None:
    assert [p.message for p in script(source).problems] == [message]


def test_the_entry_points_parameters_are_read() -> None:
    job = script(
        "def handler(a, b: int = 1, *, c: 'Optional[str]' = None):\n    pass\n"
    )
    assert [(p.name, p.annotation, p.has_default) for p in job.compiled.params] == [
        ("a", None, False),
        ("b", "int", True),
        ("c", "str", True),
    ]


def test_a_runtime_error_points_at_the_users_line_only() -> None:
    outcome = run("def handler():\n    info('before')\n    return 1 / 0\n")
    assert outcome.problem is not None
    assert (
        outcome.problem.text()
        == "ZeroDivisionError: division by zero (functions/s.py, line 3)"
    )
    assert outcome.info == ("before",)


def test_a_blocked_import_at_run_time_names_the_line() -> None:
    outcome = run("def handler():\n    import json\n    return json.codecs\n")
    assert outcome.problem is not None
    assert outcome.problem.line == 3


def test_each_run_starts_from_fresh_globals() -> None:
    source = "SEEN = []\ndef handler():\n    SEEN.append(1)\n    return len(SEEN)\n"
    assert [run(source).value for _ in range(3)] == [1, 1, 1]


def test_the_decimal_context_is_fresh_for_each_run() -> None:
    source = """
        import decimal
        def handler():
            before = decimal.getcontext().prec
            decimal.getcontext().prec = 3
            return before
        """
    assert [run(source).value for _ in range(2)] == [28, 28]


def test_limits_apply_in_process_too() -> None:
    outcome = run("def handler():\n    return 'x' * 100\n", Limits(response_bytes=50))
    assert outcome.problem is not None
    assert (outcome.problem.limit, outcome.problem.line) == ("response_bytes", None)
    outcome = run(
        "def handler():\n    while True:\n        pass\n", Limits(statements=50)
    )
    assert outcome.problem is not None
    assert (outcome.problem.limit, outcome.problem.line, outcome.statements) == (
        "statements",
        3,
        51,
    )


def test_arguments_are_passed_by_name() -> None:
    assert run("def handler(a, b=2):\n    return [a, b]\n", a=1).value == [1, 2]


def test_syntax_error_quotes_the_source_not_a_file_of_that_name(tmp_path, monkeypatch):
    # A file with the same relative name exists in the current folder.
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello.py").write_text("# another file\n# its line 2\n")
    monkeypatch.chdir(tmp_path)
    compiled = sandbox.compile_script(
        "x = 1\ndef handler(:\n    pass\n", "functions/hello.py", "handler"
    )
    [problem] = compiled.problems
    assert (problem.file, problem.line) == ("functions/hello.py", 2)
    assert (
        problem.message == "SyntaxError: invalid syntax at statement: 'def handler(:'"
    )
