"""The baseline: a bare Werkzeug app answering the same JSON as a trivial function.

Served by the same server setup as the emulator (werkzeug's threaded server),
so the ratio measures what the emulator adds on top of its own stack.
"""

from __future__ import annotations

import sys

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

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


if __name__ == "__main__":
    server = make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True,
                         request_handler=QuietHandler)  # fmt: skip
    print(f"listening on {server.port}", flush=True)
    server.serve_forever()
