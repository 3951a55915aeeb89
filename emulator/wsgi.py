"""A WSGI entry point for other servers: `gunicorn 'emulator.wsgi:app'`.

The config file comes from ZCRM_EMULATOR_CONFIG (default ./config.yaml). Each
gunicorn worker imports this module and so builds its own app; they share keys,
tokens and history through the SQLite store. With `gunicorn --preload` the app
is built once and forked: each forked process then starts its own function
workers and opens its own SQLite connections at its first call. This
module-level `app` is the one deliberate piece of module state: it is what
WSGI servers import.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import config as config_module
from .app import create_app
from .reporter import LineReporter


def _echo(text: str) -> None:
    print(text, flush=True)


app = create_app(
    config_module.load(
        Path(os.environ.get("ZCRM_EMULATOR_CONFIG", config_module.DEFAULT_FILE))
    ),
    reporter=LineReporter(_echo),
)
