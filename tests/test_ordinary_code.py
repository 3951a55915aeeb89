"""Ordinary function code works in the sandbox, in a real worker process.

One pool serves the module (a worker costs a process start); each test sends
its own script.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import DEMO_KEY, execute_url, write_config
from sandbox_support import script
from werkzeug.test import Client

from emulator import config as config_module
from emulator.app import create_app
from emulator.limits import Limits
from emulator.workers import WorkerRunner


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerRunner]:
    runner = WorkerRunner("handler", lambda name: Limits(), 2)
    yield runner
    runner.close()


def value(pool: WorkerRunner, source: str, **kwargs: Any) -> Any:
    job = script(source, "ordinary")
    assert job.ok, job.problems
    outcome = pool.run(job, kwargs)
    assert outcome.problem is None, outcome.problem
    return outcome.value


CASES = [
    pytest.param(
        """
        class Account:
            kind = "customer"
            def __init__(self, name, balance=0):
                self.name = name
                self.balance = balance
            def deposit(self, amount):
                self.balance = self.balance + amount
                return self
        class Partner(Account):
            kind = "partner"
            def deposit(self, amount):
                return super().deposit(amount * 2)
        def handler():
            a = Partner("Ada").deposit(5)
            return [a.name, a.balance, a.kind, isinstance(a, Account)]
        """,
        ["Ada", 10, "partner", True],
        id="classes-and-inheritance",
    ),
    pytest.param(
        """
        def handler():
            rows = [{"n": n, "sq": n * n} for n in range(5) if n % 2 == 0]
            index = {r["n"]: r["sq"] for r in rows}
            odd = {n for n in range(6) if n % 2}
            return [rows[-1], index, sorted(odd), sum(r["sq"] for r in rows)]
        """,
        [{"n": 4, "sq": 16}, {"0": 0, "2": 4, "4": 16}, [1, 3, 5], 20],
        id="comprehensions",
    ),
    pytest.param(
        """
        def handler(name: str = "Ada", amount: float = 12.5):
            return f"{name!r} owes {amount:>8.2f} ({amount / 3:.1%})"
        """,
        "'Ada' owes    12.50 (416.7%)",
        id="f-strings",
    ),
    pytest.param(
        """
        def handler():
            steps = []
            for divisor in (2, 0):
                try:
                    steps.append(10 // divisor)
                except ZeroDivisionError as error:
                    steps.append(str(error))
                else:
                    steps.append("ok")
                finally:
                    steps.append("done")
            try:
                raise ValueError("bad input")
            except (KeyError, ValueError) as error:
                steps.append(type(error) is ValueError)
            return steps
        """,
        [5, "ok", "done", "integer division or modulo by zero", "done", True],
        id="try-except-finally",
    ),
    pytest.param(
        """
        def fib():
            a, b = 0, 1
            while True:
                yield a
                a, b = b, a + b
        def handler():
            numbers = fib()
            return [next(numbers) for _ in range(8)]
        """,
        [0, 1, 1, 2, 3, 5, 8, 13],
        id="generators",
    ),
    pytest.param(
        """
        def handler():
            people = [("Sam", 31), ("Ada", 36), ("Bo", 31)]
            by_age = sorted(people, key=lambda p: (p[1], p[0]))
            longest = max(people, key=lambda p: len(p[0]))
            people.sort(key=lambda p: p[0], reverse=True)
            return [by_age, longest, people]
        """,
        [
            [["Bo", 31], ["Sam", 31], ["Ada", 36]],
            ["Sam", 31],
            [["Sam", 31], ["Bo", 31], ["Ada", 36]],
        ],
        id="sorting-with-key-functions",
    ),
    pytest.param(
        """
        import json
        def handler():
            data = {"lead": {"name": "Ada", "tags": ["vip", "eu"], "score": 9.5}}
            text = json.dumps(data, sort_keys=True, separators=(",", ":"))
            back = json.loads(text)
            back["lead"]["tags"].append("new")
            return [text, back["lead"]["tags"], json.loads("[1, null, true]")]
        """,
        [
            '{"lead":{"name":"Ada","score":9.5,"tags":["vip","eu"]}}',
            ["vip", "eu", "new"],
            [1, None, True],
        ],
        id="json-round-trip",
    ),
    pytest.param(
        """
        import datetime
        from zoneinfo import ZoneInfo
        def handler():
            start = datetime.datetime(2026, 3, 28, 22, 0, tzinfo=ZoneInfo("Europe/Paris"))
            later = start + datetime.timedelta(days=1, hours=3)
            due = datetime.date(2026, 12, 4) - datetime.date(2026, 1, 1)
            return [later.isoformat(), due.days, later.weekday(),
                    later.astimezone(datetime.timezone.utc).strftime("%H:%M")]
        """,
        ["2026-03-30T01:00:00+02:00", 337, 0, "23:00"],
        id="datetime-arithmetic",
    ),
    pytest.param(
        """
        import re
        PHONE = re.compile(r"\\+?(\\d{2})[ -]?(\\d{3})[ -]?(\\d{4})")
        def handler():
            text = "Call +91 800-1234 or 44 555 6789."
            found = [m.groups() for m in PHONE.finditer(text)]
            masked = PHONE.sub(lambda m: m.group(1) + "-XXX-" + m.group(3), text)
            return [found, masked, re.split(r"\\s+", "a  b c")]
        """,
        [
            [["91", "800", "1234"], ["44", "555", "6789"]],
            "Call 91-XXX-1234 or 44-XXX-6789.",
            ["a", "b", "c"],
        ],
        id="regexes",
    ),
    pytest.param(
        """
        import collections
        import itertools
        import functools
        import statistics
        import math
        import decimal
        def handler():
            words = "a b a c b a".split()
            counts = collections.Counter(words).most_common(2)
            groups = collections.defaultdict(list)
            for word in words:
                groups[word].append(1)
            pairs = list(itertools.combinations("abc", 2))
            product = functools.reduce(lambda x, y: x * y, range(1, 6))
            decimal.getcontext().prec = 4
            third = decimal.Decimal(1) / decimal.Decimal(3)
            return [counts, len(groups["a"]), len(pairs), product,
                    statistics.mean([1, 2, 3, 4]), math.isclose(math.pi, 3.14159, rel_tol=1e-5),
                    str(third)]
        """,
        [[["a", 3], ["b", 2]], 3, 3, 120, 2.5, True, "0.3333"],
        id="standard-library",
    ),
    pytest.param(
        """
        import functools
        def logged(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                info("calling")
                return fn(*args, **kwargs)
            return wrapper
        @logged
        def double(x):
            return x * 2
        def handler():
            counter = {"n": 0}
            def bump():
                counter["n"] = counter["n"] + 1
                return counter["n"]
            bump(); bump()
            return [double(21), counter["n"], double(x=1)]
        """,
        [42, 2, 2],
        id="closures-and-decorators",
    ),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_ordinary_code_works(pool: WorkerRunner, source: str, expected: Any) -> None:
    assert value(pool, source) == expected


def test_an_hmac_signature_check_on_the_raw_body(
    project: Any, write_function: Any
) -> None:
    """The whole stack, in a worker: crmAPIRequest's body, byte-exact, and hmac."""
    write_config(project, {"api_keys": [{"key": DEMO_KEY}], "limits": {"workers": 1}})
    write_function(
        "webhook",
        """
        import hashlib
        import hmac
        import json
        SECRET = b"shared-secret"
        def handler(crmAPIRequest):
            body = crmAPIRequest["body"]
            sent = crmAPIRequest["headers"].get("x-signature", "")
            wanted = hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(sent, wanted):
                return {"crmAPIResponse": {"status_code": 401, "body": {"ok": False}}}
            info("verified")
            return {"ok": True, "event": json.loads(body)["event"]}
        """,
    )
    body = b'{"event": "lead.created", "id": 7}'
    signature = hmac.new(b"shared-secret", body, hashlib.sha256).hexdigest()
    app = create_app(config_module.load(project / "config.yaml"))
    try:
        client = Client(app)
        good = client.post(
            execute_url("webhook"), data=body, headers={"X-Signature": signature}
        )
        assert good.json["details"]["output"] == '{"ok":true,"event":"lead.created"}'
        assert good.json["details"]["userMessage"] == ["verified"]
        bad = client.post(
            execute_url("webhook"), data=body, headers={"X-Signature": "0"}
        )
        assert (bad.status_code, bad.json) == (401, {"ok": False})
    finally:
        app.close()
