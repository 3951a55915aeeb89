"""The builtins of a function, info and print capture, fresh globals."""

from __future__ import annotations

import builtins

import pytest

from emulator import guards, policy
from emulator.limits import LimitHit, Limits


def test_builtins_are_the_listed_ones_and_the_guarded_replacements() -> None:
    table = policy.builtins_table(guards.Writes())
    replaced = {"getattr", "hasattr", "type", "__build_class__", "__import__"}
    assert set(table) == set(policy.SAFE_BUILTINS + policy.SAFE_EXCEPTIONS) | replaced
    assert table["getattr"] is guards.guarded_getattr
    assert table["type"] is guards.safe_type
    assert not set(policy.BLOCKED_BUILTINS) & set(table)
    assert all(table[name] is getattr(builtins, name) for name in policy.SAFE_BUILTINS)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("open", "'open' is not available in functions: functions cannot read or write "
         "the host's files."),
        ("aiter", "'aiter' is not available in functions."),
        ("my_helper", ""),
    ],
)  # fmt: skip
def test_blocked_names_get_a_hint(name: str, hint: str) -> None:
    assert policy.blocked_hint(name) == hint


def test_info_lines_are_capped() -> None:
    capture = policy.Capture(Limits(info_lines=2))
    capture.info("a", 1)
    capture.info({"k": [1, 2]}, ["x"])
    with pytest.raises(LimitHit) as caught:
        capture.info("third")
    assert (caught.value.limit, caught.value.value) == ("info_lines", 2)
    assert capture.info_lines == ["a 1", '{"k":[1,2]} ["x"]']


def test_printed_bytes_are_capped() -> None:
    capture = policy.Capture(Limits(print_bytes=12))  # the text, not the line ends
    printer = capture.printer()()
    printer._call_print("12345", "6")
    printer._call_print("ab\ncd", end="")
    assert capture.printed == ["12345 6", "ab", "cd"]
    assert printer() == "12345 6\nab\ncd"
    with pytest.raises(LimitHit) as caught:
        printer._call_print("more")
    assert caught.value.limit == "print_bytes"


def test_print_to_a_file_object_goes_through_its_write() -> None:
    written: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            written.append(text)

    capture = policy.Capture()
    capture.printer()()._call_print("a", "b", sep="-", file=Sink())
    assert (written, capture.printed) == (["a-b\n"], [])


def test_globals_are_fresh_for_every_run() -> None:
    first = policy.globals_for("functions/f.py", policy.Capture())
    second = policy.globals_for("functions/f.py", policy.Capture())
    assert first["__builtins__"] is not second["__builtins__"]
    assert first["_write_"] != second["_write_"]
    assert first["__name__"] == "f"
    assert {"_tick_", "_tick_iter_", "info", "_print_"} <= set(first)
