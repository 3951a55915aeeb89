"""Emulator-only JSON API under a reserved prefix: functions and call history.

Zoho has no such endpoints; they exist so tools, tests and people can see what
the emulator loaded and what each call did. No authentication: the server is a
local development tool.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from . import errors, responses
from .history import History
from .registry import Registry, Script

PREFIX = "/__emulator__"


class DevApi:
    def __init__(self, registry: Registry, history: History) -> None:
        self.registry = registry
        self.history = history

    def rules(self) -> list[Rule]:
        return [
            Rule(f"{PREFIX}/functions", endpoint=self.functions),
            Rule(f"{PREFIX}/invocations", endpoint=self.invocations),
            Rule(f"{PREFIX}/invocations/<int:invocation_id>", endpoint=self.invocation),
        ]

    def functions(self, request: Request) -> Response:
        return responses.json_response(
            {"functions": [_script(s) for s in self.registry.all()]}
        )

    def invocations(self, request: Request) -> Response:
        limit = _int_arg(request, "limit", 50)
        after = _int_arg(request, "after", 0)
        self.history.flush()
        found = self.history.list(request.args.get("function"), min(limit, 1000), after)
        return responses.json_response(
            {"invocations": [r.to_json(full=False) for r in found]}
        )

    def invocation(self, request: Request, invocation_id: int) -> Response:
        self.history.flush()
        found = self.history.get(invocation_id)
        if found is None:
            raise errors.NotFound(
                f"no invocation with id {invocation_id}",
                details={"hint": f"GET {PREFIX}/invocations lists the recent ones"},
            )
        return responses.json_response(found.to_json())


def _script(script: Script) -> dict[str, Any]:
    return {
        "name": script.name,
        "file": script.display,
        "version": script.version,
        "ok": script.ok,
        "params": [p.name for p in script.compiled.params],
        "errors": [
            {"file": p.file, "line": p.line, "message": p.message}
            for p in script.problems
        ],
    }


def _int_arg(request: Request, name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise errors.BadRequest(
            f"the query parameter {name} must be a whole number of 0 or more; found '{raw}'"
        )
    return int(raw)
