"""Escape attempts: the published RestrictedPython advisories, module walks,
unicode tricks, cross-invocation leaks, and the known traps of issue 4 item 8.

Each test says which advisory or trap it reproduces. Most run in-process (the
guards are the same code in a worker); the ones about processes run in workers,
in both isolation modes (limits.isolation).
"""

from __future__ import annotations

import importlib.metadata
import json
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import execute_url
from sandbox_support import ISOLATIONS, SMALL, error_envelope, script
from werkzeug.test import Client

from emulator import modules, sandbox
from emulator.limits import Limits
from emulator.outcome import Outcome
from emulator.workers import WorkerRunner

ROOT = Path(__file__).resolve().parent.parent
PRIVATE = "attributes that start with '_' are not available in functions"
FRAMES = "it reaches the interpreter's frames or code"


def run(source: str, **kwargs: Any) -> Outcome:
    job = script(source, "e")
    assert job.compiled.code is not None, job.problems
    return sandbox.run(job.compiled.code, job.display, "handler", kwargs, Limits())


def failure(source: str) -> str:
    """The runtime error of `source` as 'message (line N)'."""
    outcome = run(source)
    assert outcome.problem is not None, outcome.value
    return f"{outcome.problem.message} (line {outcome.problem.line})"


def load_errors(source: str) -> list[str]:
    job = script(source, "e")
    assert job.compiled.code is None
    return [f"line {p.line}: {p.message}" for p in job.problems]


@pytest.fixture(scope="module", params=ISOLATIONS)
def pool(request: pytest.FixtureRequest) -> Iterator[WorkerRunner]:
    runner = WorkerRunner("handler", lambda name: SMALL, 2, isolation=request.param)
    yield runner
    runner.close()


def test_restrictedpython_is_pinned_to_9_or_later() -> None:
    """Trap: every advisory below is fixed in RestrictedPython 9.0; never run older."""
    major = int(importlib.metadata.version("RestrictedPython").split(".")[0])
    assert major >= 9
    assert '"RestrictedPython>=9.0,<10"' in (ROOT / "pyproject.toml").read_text()


# CVE-2023-37271 (GHSA-wqc8-x2pr-7jqh): generator frames lead to f_globals.
@pytest.mark.parametrize(
    "attribute",
    ["gi_frame", "gi_code", "gi_yieldfrom", "f_back", "f_globals", "tb_frame"],
)
def test_generator_frames_are_blocked_written_or_computed(attribute: str) -> None:
    written = f"def handler():\n    g = (x for x in [1])\n    return g.{attribute}\n"
    assert load_errors(written) == [
        f'line 3: "{attribute}" is a restricted name, that is forbidden to access in '
        f"RestrictedPython. It reaches the interpreter's frames or code."
    ]
    computed = f"def handler():\n    g = (x for x in [1])\n    return getattr(g, '{attribute}')\n"
    assert failure(computed) == (
        f"AttributeError: '{attribute}' is blocked in functions: {FRAMES} (line 3)"
    )


# CVE-2023-41039: format strings walk attributes ("{0.__class__}").
@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("'{0.__class__}'.format(1)", id="str.format"),
        pytest.param("'{a.__class__}'.format_map({'a': 1})", id="format_map"),
        pytest.param("getattr(str, 'format')('{0.__class__}', 1)", id="unbound"),
        pytest.param("'{0.__globals__}'.format(info)", id="globals"),
        pytest.param("'{0[0].__class__}'.format([1])", id="item-then-attribute"),
    ],
)
def test_format_fields_go_through_the_guard(expression: str) -> None:
    name = "__globals__" if "globals" in expression else "__class__"
    assert failure(f"def handler():\n    return {expression}\n") == (
        f"AttributeError: '{name}' is private: {PRIVATE} (line 2)"
    )


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """
            class S(str):
                pass
            def handler():
                return super(S, S("{0.__class__}")).format(1)
            """,
            id="super-of-a-str-subclass",
        ),
        pytest.param(
            """
            import collections
            def handler():
                return collections.UserString("{0.__class__}").format(1)
            """,
            id="UserString",
        ),
        pytest.param(
            """
            import collections
            def handler():
                method = getattr(collections.UserString, "format_map")
                return method(collections.UserString("{a.__class__}"), {"a": 1})
            """,
            id="UserString-unbound",
        ),
    ],
)
def test_every_way_to_a_format_method_is_guarded(source: str) -> None:
    """Found while building this: format methods reached around the str check."""
    outcome = run(source)
    assert outcome.problem is not None
    assert (
        outcome.problem.message == f"AttributeError: '__class__' is private: {PRIVATE}"
    )


def test_singledispatch_is_not_exposed() -> None:
    """Found while building this: singledispatch's register() evaluates annotation
    strings with eval (typing.get_type_hints), outside the guards."""
    source = """
        import functools
        def handler():
            @functools.singledispatch
            def show(x):
                return 1
            def text(x: "str(().__class__.__mro__)"):
                return 2
            show.register(text)
        """
    assert failure(source) == (
        "AttributeError: functools.singledispatch is not available in functions: "
        "register() reads a function's type annotations with typing.get_type_hints, "
        "which evaluates annotation strings with eval outside the sandbox; dispatch "
        "with isinstance (line 4)"
    )


def test_format_still_formats() -> None:
    source = "def handler():\n    return '{0:>4}|{x[a]}|{y.real}'.format(7, x={'a': 2}, y=3)\n"
    assert run(source).value == "   7|2|3"


# GHSA-hp3v-5vw7-fx9w (CVE-2026-76825): string.Formatter walks fields unguarded.
def test_string_formatter_is_not_exposed() -> None:
    reason = (
        "string.Formatter is not available in functions: walks attributes of its "
        "arguments without the guards (GHSA-hp3v-5vw7-fx9w); use str.format or f-strings"
    )
    assert failure("import string\ndef handler():\n    return string.Formatter\n") == (
        f"AttributeError: {reason} (line 3)"
    )
    assert load_errors("from string import Formatter\ndef handler():\n    pass\n") == [
        f"line 1: cannot import 'Formatter' from 'string': {reason}"
    ]


# CVE-2024-47532: AttributeError.obj hands back the object that was refused.
@pytest.mark.parametrize(
    "trigger",
    [
        pytest.param("json.nothing", id="module-proxy"),
        pytest.param("(1).nothing", id="plain-object"),
        pytest.param("getattr(1, 'nothing')", id="getattr"),
    ],
)
def test_attribute_error_obj_is_blocked_and_args_are_text(trigger: str) -> None:
    source = f"""
        import json
        def handler():
            try:
                {trigger}
            except AttributeError as error:
                caught = error
            return [[isinstance(a, str) for a in caught.args], getattr(caught, 'obj')]
        """
    assert failure(source) == (
        "AttributeError: 'obj' is blocked in functions: it can hand back objects the "
        "function may not see. Use str(error) or error.name instead (line 8)"
    )
    listed = source.replace(", getattr(caught, 'obj')", "")
    assert run(listed).value == [[True]]


def test_errors_of_the_guards_carry_only_text() -> None:
    """Trap: exception args handing back hidden objects."""
    source = """
        import json
        def handler():
            kinds = []
            attempts = [
                lambda: json.codecs,
                lambda: getattr(json, '_default_encoder'),
                lambda: type('X', (), {}),
                lambda: '{0.__class__}'.format(1),
                lambda: setitem(json),
            ]
            for attempt in attempts:
                try:
                    attempt()
                except Exception as error:
                    kinds.append([isinstance(a, str) for a in error.args])
            return kinds
        def setitem(target):
            target.x = 1
        """
    assert run(source).value == [[True]] * 5


# CVE-2025-22153 (GHSA-gmj9-h825-chq2): try/except* type confusion.
def test_except_star_is_refused_and_exception_groups_are_not_there() -> None:
    source = """
        def handler():
            try:
                pass
            except* ValueError:
                pass
        """
    assert load_errors(source) == [
        "line 3: TryStar statements are not allowed. except* is blocked "
        "(GHSA-gmj9-h825-chq2); use except."
    ]
    hostile = "def handler():\n    class Evil(ExceptionGroup):\n        pass\n"
    assert (
        failure(hostile) == "NameError: name 'ExceptionGroup' is not defined (line 2)"
    )


# CVE-2026-55830 (GHSA-ffg3-p8fm-mjx2): a positional-only parameter shadows a guard.
@pytest.mark.parametrize(
    "guard", ["_getattr_", "_write_", "_getitem_", "_print_", "_tick_"]
)
def test_a_positional_only_parameter_cannot_shadow_a_guard(guard: str) -> None:
    source = f"def handler({guard}=None, /):\n    return 1\n"
    assert load_errors(source) == [
        f'line 1: "{guard}" is an invalid variable name because it starts with "_". '
        "Names that start with '_' are reserved for the sandbox; rename it."
    ]


# GHSA-xm98-3vcf-fph7: a raw getattr builtin bypasses the attribute guard.
def test_getattr_with_a_computed_name_is_guarded() -> None:
    source = "def handler():\n    return getattr(1, '__cl' + 'ass__')\n"
    assert (
        failure(source) == f"AttributeError: '__class__' is private: {PRIVATE} (line 2)"
    )
    assert run(
        "def handler():\n    return getattr(1, 'missing', 'fallback')\n"
    ).value == ("fallback")


def test_no_module_object_is_reachable_from_the_catalog() -> None:
    """Trap: json, re and datetime import sys or builtins internally."""
    for name, proxy in modules.CATALOG.items():
        for attribute in modules.exposed_names(name):
            value = getattr(proxy, attribute)
            assert not isinstance(value, types.ModuleType), (name, attribute)
            for inner in dir(value):
                if not inner.startswith("_"):
                    found = getattr(value, inner, None)
                    assert not isinstance(found, types.ModuleType), (
                        name,
                        attribute,
                        inner,
                    )


@pytest.mark.parametrize(
    ("module", "attribute"),
    [("json", "codecs"), ("json", "decoder"), ("datetime", "sys"), ("re", "enum"),
     ("re", "functools"), ("calendar", "datetime"), ("statistics", "random")],
)  # fmt: skip
def test_module_walks_find_nothing(module: str, attribute: str) -> None:
    source = f"import {module}\ndef handler():\n    return str({module}.{attribute})\n"
    assert failure(source) == (
        f"AttributeError: module '{module}' has no public name '{attribute}' in functions "
        "(modules it imports itself, and names it takes from other modules, are left "
        "out). Import what you need from its own module, if it is allowed. (line 3)"
    )


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        pytest.param(
            "from json import decoder",
            "cannot import 'decoder' from 'json': module 'json' has no public name "
            "'decoder' in functions",
            id="submodule-through-from",
        ),
        pytest.param(
            "from datetime import sys",
            "cannot import 'sys' from 'datetime': module 'datetime' has no public name "
            "'sys' in functions",
            id="module-imported-by-a-module",
        ),
        pytest.param(
            "from statistics import mul",
            "cannot import 'mul' from 'statistics': module 'statistics' has no public "
            "name 'mul' in functions",
            id="name-from-another-module",
        ),
        pytest.param(
            "import json.decoder",
            "import of 'json.decoder' is not allowed in functions.",
            id="dotted-submodule",
        ),
        pytest.param(
            "import urllib.request",
            "import of 'urllib.request' is not allowed in functions. Of urllib only "
            "urllib.parse is allowed: import urllib.parse.",
            id="dotted-sibling",
        ),
        pytest.param(
            "from urllib import request",
            "cannot import 'request' from 'urllib': module 'urllib' has no public name "
            "'request' in functions",
            id="sibling-through-from",
        ),
        pytest.param(
            "import os.path",
            "import of 'os.path' is not allowed in functions. Functions cannot reach the "
            "host's files, processes or environment.",
            id="os",
        ),
        pytest.param(
            "import operator",
            "import of 'operator' is not allowed in functions. operator.attrgetter and "
            "methodcaller skip the attribute guard; use a lambda.",
            id="operator",
        ),
        pytest.param(
            "from . import sibling",
            "relative imports are not available in functions: each function is one file.",
            id="relative",
        ),
    ],
)
def test_every_imported_name_and_submodule_is_checked(
    statement: str, message: str
) -> None:
    (error,) = load_errors(f"{statement}\ndef handler():\n    pass\n")
    assert error.startswith(f"line 1: {message}")


def test_urllib_parse_is_importable_both_ways() -> None:
    source = """
        import urllib.parse
        from urllib import parse
        from urllib.parse import quote
        def handler():
            return [urllib.parse.quote('a b'), parse.unquote('a%20b'), quote('/')]
        """
    assert run(source).value == ["a%20b", "a b", "/"]


def test_no_exposed_callable_comes_from_operator() -> None:
    """Trap: operator.attrgetter-style C lookups that skip the guard."""
    for name, proxy in modules.CATALOG.items():
        for attribute in modules.exposed_names(name):
            origin = getattr(getattr(proxy, attribute), "__module__", None)
            assert origin not in ("operator", "_operator"), (name, attribute)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ("functools.update_wrapper(f, info, assigned=(), updated=('__globals__',))",
         "_update_wrapper"),
        ("functools.wraps(info, assigned=('__globals__',))", "_wraps"),
    ],
)  # fmt: skip
def test_functools_wrappers_take_no_attribute_lists(call: str, name: str) -> None:
    """update_wrapper(updated=('__globals__',)) would pour a module's globals in."""
    source = f"import functools\ndef handler():\n    def f():\n        pass\n    return {call}\n"
    keyword = "assigned"
    assert failure(source) == (
        f"TypeError: {name}() got an unexpected keyword argument '{keyword}' (line 5)"
    )


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        ("SystemExit(3)", "SystemExit: 3"),
        ("KeyboardInterrupt", "KeyboardInterrupt"),
        ("GeneratorExit", "GeneratorExit"),
    ],
)
def test_system_exit_and_keyboard_interrupt_are_contained(
    write_function: Any, make_app: Any, raised: str, message: str
) -> None:
    write_function("quit", f"def handler():\n    raise {raised}\n")
    write_function("hello", "def handler():\n    return 'still here'\n")
    client = Client(make_app())
    response = client.get(execute_url("quit"))
    assert (response.status_code, response.json) == (
        500,
        error_envelope("quit", 2, message),
    )
    assert client.get(execute_url("hello")).json["details"]["output"] == "still here"


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        pytest.param('"-" * 100000 + "1"', "MemoryError", id="parser-memory"),
        pytest.param('"1" + "+1" * 100000', "RecursionError", id="compiler-recursion"),
        pytest.param('"a." * 5000 + "b"', "RecursionError", id="attribute-chain"),
    ],
)
def test_a_pathological_script_is_a_load_error_for_that_file_only(
    write_function: Any, make_app: Any, expression: str, kind: str
) -> None:
    body = eval(expression)  # builds the test's source text, not sandboxed code
    write_function("monster", f"def handler():\n    return {body}\n")
    write_function("hello", "def handler():\n    return 'fine'\n")
    client = Client(make_app())
    response = client.get(execute_url("monster"))
    message = (
        f"{kind}: the script is nested too deeply to compile. Split deeply nested "
        "expressions into smaller steps."
    )
    assert response.status_code == 500
    assert response.json["details"] == {
        "errors": [{"file": "functions/monster.py", "line": None, "message": message}]
    }
    assert client.get(execute_url("hello")).json["details"]["output"] == "fine"


# Unicode: identifiers are NFKC-normalized by the parser, before the checks.
@pytest.mark.parametrize(
    ("source", "error"),
    [
        pytest.param(
            "def handler():\n    return \uff45\uff56\uff41\uff4c('1')\n",
            "line 2: Eval calls are not allowed. Functions cannot run code built at run "
            "time; parse data with json.loads.",
            id="fullwidth-eval",
        ),
        pytest.param(
            "def handler():\n    g = (x for x in [1])\n    return g.\uff47\uff49_frame\n",
            'line 3: "gi_frame" is a restricted name, that is forbidden to access in '
            "RestrictedPython. It reaches the interpreter's frames or code.",
            id="fullwidth-attribute",
        ),
        pytest.param(
            "def handler():\n    return \U0001d4eexec('1')\n",
            "line 2: Exec calls are not allowed. Functions cannot run code built at run "
            "time.",
            id="script-letter-exec",
        ),
        pytest.param(
            "def handler():\n    return (1).\uff3f\uff3fclass\uff3f\uff3f\n",
            "line 2: SyntaxError: invalid character '\uff3f' (U+FF3F)",
            id="fullwidth-underscore",
        ),
    ],
)
def test_unicode_identifier_tricks_are_caught_at_load(source: str, error: str) -> None:
    (found,) = load_errors(source)
    assert found.startswith(error)


def test_computed_names_are_not_normalized() -> None:
    source = "def handler():\n    return getattr(1, '\uff3f\uff3fclass\uff3f\uff3f', 'none')\n"
    assert run(source).value == "none"


LEAKY = """
    import calendar
    CACHE = []
    class Counter:
        total = 0
    def handler(seen=[]):
        before = [len(CACHE), len(seen), Counter.total, calendar.firstweekday()]
        CACHE.append(1)
        seen.append(1)
        Counter.total = Counter.total + 1
        calendar.setfirstweekday(6)
        return before
    """


def test_nothing_leaks_between_calls_in_process() -> None:
    first, second = run(LEAKY), run(LEAKY)
    assert first.value == [0, 0, 0, 0]
    assert second.value[:3] == [0, 0, 0]


def test_nothing_leaks_between_calls_in_workers(pool: WorkerRunner) -> None:
    job = script(LEAKY, "leaky")
    assert [pool.run(job, {}).value for _ in range(4)] == [[0, 0, 0, 0]] * 4


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("open", "functions cannot read or write the host's files"),
        ("compile", "it builds code outside the sandbox"),
        ("vars", "it reads private attributes; use the attributes by name"),
        ("dir", "it lists private attributes and module contents"),
        ("globals", "it hands out the sandbox's own names"),
        ("locals", "it hands out the sandbox's own names"),
        ("setattr", "write obj.name = value instead"),
        ("memoryview", "not needed by function code; use bytes"),
    ],
)
def test_dangerous_builtins_are_missing_with_a_hint(name: str, why: str) -> None:
    outcome = run(f"def handler():\n    return {name}\n")
    assert outcome.problem is not None
    assert outcome.problem.text() == (
        f"NameError: name '{name}' is not defined (functions/e.py, line 2). "
        f"'{name}' is not available in functions: {why}."
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("exec('1')", "line 2: Exec calls are not allowed."),
        ("breakpoint()", 'line 2: "breakpoint" is a reserved name.'),
        ("__import__('os')", 'line 2: "__import__" is an invalid variable name'),
        ("__builtins__", 'line 2: "__builtins__" is an invalid variable name'),
        (
            "(1).__class__.__subclasses__()",
            'line 2: "__subclasses__" is an invalid attribute',
        ),
    ],
)
def test_code_and_hidden_names_are_refused_at_load(body: str, error: str) -> None:
    errors = load_errors(f"def handler():\n    return {body}\n")
    assert errors[0].startswith(error)


def test_three_argument_type_and_metaclasses_are_refused() -> None:
    assert failure("def handler():\n    return type('X', (), {})\n") == (
        "TypeError: type() takes one argument in a function: the three-argument form "
        "builds classes with hidden methods. Write a class statement instead. (line 2)"
    )
    real_type = "def handler():\n    return type(int)('X', (), {})\n"
    assert failure(real_type).startswith("TypeError: type() takes one argument")
    assert run(
        "def handler():\n    return [type(int) is type, type(1) is int]\n"
    ).value == [
        True,
        True,
    ]


def test_tracebacks_are_out_of_reach() -> None:
    source = """
        def handler():
            try:
                1 / 0
            except ZeroDivisionError as error:
                return getattr(error, '__traceback__')
        """
    assert (
        failure(source)
        == f"AttributeError: '__traceback__' is private: {PRIVATE} (line 6)"
    )


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("json.loads", "module"),
        ("json.JSONDecoder.parse_float", "type"),
        ("info.note", "method"),
        ("handler.cache", "function"),
    ],
)
def test_library_objects_are_read_only(target: str, kind: str) -> None:
    source = f"import json\ndef handler():\n    {target} = 1\n"
    assert failure(source) == (
        f"TypeError: cannot change a {kind} object in a function: only dicts, lists and "
        "objects of classes the function defines can be changed. Make a copy (dict(x), "
        "list(x)) or a class of your own. (line 3)"
    )


def test_strftime_and_strptime_work_though_they_import_internally(
    pool: WorkerRunner,
) -> None:
    source = """
        import datetime
        import time
        def handler():
            day = datetime.datetime.strptime("2026-12-04 09:30", "%Y-%m-%d %H:%M")
            return [day.strftime("%d %b %Y"), time.strptime("2026", "%Y").tm_year,
                    datetime.date(2026, 1, 2).strftime("%A")]
        """
    expected = ["04 Dec 2026", 2026, "Friday"]
    assert run(source).value == expected
    assert pool.run(script(source, "dates"), {}).value == expected


def test_results_are_converted_to_json_inside_the_worker(pool: WorkerRunner) -> None:
    source = """
        import datetime
        import decimal
        def handler():
            return {"when": datetime.date(2026, 1, 2), "n": decimal.Decimal("1.50"),
                    "tags": ("a", "b"), 1: True}
        """
    assert pool.run(script(source, "plain"), {}).value == {
        "when": "2026-01-02",
        "n": "1.50",
        "tags": ["a", "b"],
        "1": True,
    }
    odd = pool.run(
        script("class Thing:\n    pass\ndef handler():\n    return Thing()\n", "odd"),
        {},
    )
    assert odd.problem is not None
    assert odd.problem.message == (
        "TypeError: cannot return a value of type Thing; return a str, number, bool, "
        "None, dict or list (convert it with str() or a dict of its fields)"
    )


def test_the_job_and_the_answer_are_json_lines() -> None:
    """Trap: results cross as JSON over a pipe, never pickle."""
    from emulator.protocol import HEAD_END, Job, outcome_line

    job = script("def handler():\n    return 1\n")
    line = Job(
        "f", job.display, job.version, job.source, "handler", {}, Limits()
    ).to_line()
    head, tail = line.split(HEAD_END)
    assert json.loads(tail) == {"kwargs": [], "user_id": None}
    assert json.loads(head)["source"] == textwrap.dedent(
        "def handler():\n    return 1\n"
    )
    assert json.loads(outcome_line(run("def handler():\n    return 1\n")))["value"] == 1
    for module in ("protocol", "worker", "workers", "zygote", "execution"):
        text = (ROOT / "emulator" / f"{module}.py").read_text()
        assert "pickle" not in text.replace("never pickle", "")
        assert "marshal" not in text
