"""OAuth overhead: execute latency with an access token vs an API key, and the
token endpoint's refresh rate. In-process (werkzeug test client), bounded.

    PYTHONPATH=. python benchmarks/bench_oauth.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from werkzeug.test import Client

from emulator import config as config_module
from emulator.app import create_app

KEY = "1003." + "a" * 32 + "." + "b" * 32
CLIENT_ID = "1000.BENCHCLIENT0000000000000000001"
SECRET = "0123456789abcdef0123456789abcdef0123456789"


def timed(label: str, n: int, action: Callable[[], object]) -> None:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    print(
        f"{label:34} n={n}  median {statistics.median(samples):.3f} ms"
        f"  p95 {samples[int(n * 0.95) - 1]:.3f} ms"
    )


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "functions").mkdir()
        (root / "functions" / "hello.py").write_text(
            "def handler():\n    return 'hi'\n"
        )
        data = {
            "api_keys": [{"key": KEY}],
            "oauth": {
                "clients": [{"client_id": CLIENT_ID, "client_secret": SECRET}],
                "throttle": {"access_tokens_per_refresh_token": 0},
            },
        }
        (root / "config.yaml").write_text(yaml.safe_dump(data))
        app = create_app(config_module.load(root / "config.yaml"))
        client = Client(app)
        issued = app.issuer.self_client(
            app.issuer.clients.list()[0],
            app.config.users[0].id,
            ("ZohoCRM.functions.execute.READ",),
        )
        url = "/crm/v2/functions/hello/actions/execute"
        auth = {"Authorization": f"Zoho-oauthtoken {issued.access_token}"}
        timed(
            "execute, API key",
            n,
            lambda: client.get(f"{url}?auth_type=apikey&zapikey={KEY}"),
        )
        timed(
            "execute, OAuth token",
            n,
            lambda: client.get(f"{url}?auth_type=oauth", headers=auth),
        )
        form = {
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "refresh_token": issued.refresh_token or "",
        }
        timed(
            "token endpoint, refresh grant",
            n,
            lambda: client.post("/oauth/v2/token", data=form),
        )
        app.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
