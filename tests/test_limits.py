"""Limits per function, the --timeout override, and the words for each limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import config as config_module
from emulator import limits
from emulator.limits import Limits


def config(data: dict) -> config_module.Config:
    return config_module.from_data(data, root=Path("."))


def test_defaults_are_zohos() -> None:
    assert Limits() == Limits(
        timeout_seconds=60.0,
        statements=200_000,
        memory_mb=512,
        info_lines=1000,
        print_bytes=1024 * 1024,
        response_bytes=10 * 1024 * 1024,
    )
    assert limits.for_function(config({}), "any") == Limits()


def test_a_function_may_have_its_own_timeout() -> None:
    given = config(
        {
            "limits": {"timeout_seconds": 5, "statements": 10, "memory_mb": 64},
            "functions": {"slow": {"timeout_seconds": 30}},
        }
    )
    assert limits.for_function(given, "slow") == Limits(
        timeout_seconds=30.0, statements=10, memory_mb=64
    )
    assert limits.for_function(given, "other").timeout_seconds == 5.0


def test_serve_timeout_overrides_every_timeout() -> None:
    given = limits.with_timeout(
        config(
            {
                "limits": {"timeout_seconds": 5},
                "functions": {
                    "slow": {"timeout_seconds": 30, "rest": {"oauth": False}}
                },
            }
        ),
        0.5,
    )
    assert limits.for_function(given, "slow").timeout_seconds == 0.5
    assert limits.for_function(given, "other").timeout_seconds == 0.5
    assert given.function("slow").rest.oauth is False


def test_limits_cross_as_json() -> None:
    given = Limits(timeout_seconds=1.5, statements=7)
    assert Limits.from_json(given.to_json()) == given


@pytest.mark.parametrize(
    ("limit", "value", "what", "fix"),
    [
        (
            "timeout_seconds",
            60.0,
            "time limit reached: the function ran longer than 60 s",
            "Make it do less work, or raise functions.f.timeout_seconds or "
            "limits.timeout_seconds in config.yaml (Zoho allows 60 s for REST functions); "
            "'serve --timeout SECONDS' overrides both for one run.",
        ),
        (
            "statements",
            200000,
            "statement limit reached: the function executed more than 200000 statements",
            "Do less work per call, or raise limits.statements in config.yaml (Zoho stops "
            "a function at 200,000).",
        ),
        (
            "memory_mb",
            512,
            "memory limit reached: the function needed more than 512 MB",
            "Build smaller values, or raise limits.memory_mb in config.yaml.",
        ),
        (
            "info_lines",
            3,
            "info limit reached: the function called info() more than 3 times",
            "Log less, or raise limits.info_lines in config.yaml.",
        ),
        (
            "print_bytes",
            1000,
            "print limit reached: the function printed more than 1000 bytes",
            "Print less, or raise limits.print_bytes in config.yaml.",
        ),
        (
            "response_bytes",
            2000,
            "response size limit reached: the function returned more than 2000 bytes "
            "(output and info lines)",
            "Return less data, or raise limits.response_bytes in config.yaml (Zoho's "
            "limit is 10 MB).",
        ),
        (
            "recursion_depth",
            1000,
            "recursion limit reached: calls nested more than 1000 deep",
            "Rewrite the recursion as a loop; the depth is fixed so that deep recursion "
            "cannot crash the worker.",
        ),
    ],
)
def test_each_limit_says_what_and_how_to_raise_it(
    limit: str, value: float, what: str, fix: str
) -> None:
    assert limits.describe(limit, value, "f") == (what, fix)
    problem = limits.problem("functions/f.py", 3, "f", limit, value)
    assert problem.text() == f"{what} (functions/f.py, line 3). {fix}"
    assert (problem.kind, problem.limit, problem.limit_value) == ("limit", limit, value)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("memory_mb", 32, "Use at least 64 MB: the worker itself needs about 30."),
        ("timeout_seconds", 0, "Use a number above zero."),
        ("workers", 0, "Use a number above zero."),
    ],
)
def test_bad_limits_in_config_are_refused(key: str, value: int, message: str) -> None:
    with pytest.raises(config_module.ConfigError) as caught:
        config({"limits": {key: value}})
    assert caught.value.message.endswith(message)
