"""The baseline: a bare Werkzeug app answering the same JSON as a trivial function.

Served by the same server setup as the emulator (werkzeug's threaded server),
so the ratio measures what the emulator adds on top of its own stack.
"""

from __future__ import annotations

import sys

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from emulator import prefork

BODY = (
    '{"code":"success","details":{"output":"ok","output_type":"string",'
    '"id":"4150868000000225013"},"message":"function executed successfully"}'
)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@Request.application  # type: ignore[arg-type]
def app(request: Request) -> Response:
    return Response(BODY, content_type="application/json;charset=UTF-8")


def main(port: int, processes: int) -> None:
    """One threaded server, or `processes` of them on one socket (as the emulator's
    `serve --processes` runs), so both sides of a ratio use the same setup."""
    if processes == 1:
        server = make_server("127.0.0.1", port, app, threaded=True,
                             request_handler=QuietHandler)  # fmt: skip
        print(f"listening on {server.port}", flush=True)
        server.serve_forever()
        return
    sock = prefork.listen("127.0.0.1", port)

    def child(slot: int) -> None:
        make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler,
                    fd=sock.fileno()).serve_forever()  # fmt: skip

    print(f"listening on {port} with {processes} processes", flush=True)
    prefork.Supervisor(processes, child, print).run()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
