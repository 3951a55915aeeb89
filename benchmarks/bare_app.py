"""The baseline: a bare Werkzeug app answering the same JSON as a trivial function.

Served by the same server setup as the emulator (werkzeug's threaded server),
so the ratio measures what the emulator adds on top of its own stack.

With --round-trip, every request also sends one line to an idle helper
process and reads one line back over pipes, as the emulator does with its
workers, and nothing else: the floor of any design that runs each call in
another process. With --worker, every request runs the trivial function in
the emulator's own worker pool and sandbox (`WorkerRunner`) and answers with
the envelope the worker rendered, with none of the emulator's server-side work
(no authentication, request map, history or routing): the floor of the
emulator's design, which runs every call in a sandboxed worker process.

    python benchmarks/bare_app.py PORT [PROCESSES] [--round-trip | --worker]
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from emulator import prefork, sandbox
from emulator.registry import Script
from emulator.workers import WorkerRunner

BODY = (
    '{"code":"success","details":{"output":"ok","output_type":"string",'
    '"id":"4150868000000225013"},"message":"function executed successfully"}'
)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


ECHO = "import os\nwhile os.read(0, 65536):\n    os.write(1, b'{\"ok\":1}\\n')\n"
JOB = b'{"name":"trivial","kwargs":[]}\n'


@Request.application
def app(request: Request) -> Response:
    return Response(BODY, content_type="application/json;charset=UTF-8")


def round_trip_app(helpers: int = 2) -> Callable[..., Any]:
    """The bare app plus one pipe round trip per request to an idle helper
    process taken from a pool (the emulator's workers, minus all their work)."""
    idle: queue.SimpleQueue[subprocess.Popen[bytes]] = queue.SimpleQueue()
    for _ in range(helpers):
        idle.put(subprocess.Popen([sys.executable, "-c", ECHO],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE))  # fmt: skip

    @Request.application
    def with_round_trip(request: Request) -> Response:
        helper = idle.get()
        os.write(helper.stdin.fileno(), JOB)  # type: ignore[union-attr]
        os.read(helper.stdout.fileno(), 65536)  # type: ignore[union-attr]
        idle.put(helper)
        return Response(BODY, content_type="application/json;charset=UTF-8")

    return with_round_trip


def worker_app() -> Callable[..., Any]:
    """The bare app running the trivial function in the emulator's workers."""
    runner = WorkerRunner("handler")
    source = 'def handler():\n    return "ok"\n'
    script = Script(name="trivial", path=Path("functions/trivial.py"),
                    display="functions/trivial.py", version="bare", source=source,
                    compiled=sandbox.compile_script(source, "functions/trivial.py",
                                                    "handler"))  # fmt: skip
    user_id = json.loads(BODY)["details"]["id"]

    @Request.application
    def with_worker(request: Request) -> Response:
        outcome = runner.run(script, {}, user_id)
        return Response(outcome.envelope, content_type="application/json;charset=UTF-8")

    return with_worker


def served_app(mode: str) -> Callable[..., Any]:
    if mode == "--round-trip":
        return round_trip_app()
    if mode == "--worker":
        return worker_app()
    return app


def main(port: int, processes: int, mode: str) -> None:
    """One threaded server, or `processes` of them on one socket (as the emulator's
    `serve --processes` runs), so both sides of a ratio use the same setup."""
    if processes == 1:
        served = served_app(mode)
        server = make_server("127.0.0.1", port, served, threaded=True,
                             request_handler=QuietHandler)  # fmt: skip
        print(f"listening on {server.port}", flush=True)
        server.serve_forever()
        return
    sock = prefork.listen("127.0.0.1", port)

    def child(slot: int) -> None:
        served = served_app(mode)
        make_server("127.0.0.1", port, served, threaded=True, request_handler=QuietHandler,
                    fd=sock.fileno()).serve_forever()  # fmt: skip

    print(f"listening on {port} with {processes} processes", flush=True)
    prefork.Supervisor(processes, child, print).run()


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if not a.startswith("--")]
    modes = [a for a in sys.argv[1:] if a in ("--round-trip", "--worker")]
    main(int(numbers[0]), int(numbers[1]) if len(numbers) > 1 else 1,
         modes[0] if modes else "")  # fmt: skip
