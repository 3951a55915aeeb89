"""Shared fixtures: a project folder on tmp_path, an app, a test client."""

from __future__ import annotations

import contextlib
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from click.testing import CliRunner
from werkzeug.test import Client

from emulator import config as config_module
from emulator.app import Emulator, create_app
from emulator.runner import InProcessRunner

DEMO_KEY = "1003." + "a" * 32 + "." + "b" * 32
BASE = "/crm/v2/functions"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: config.yaml seeding DEMO_KEY, and an empty functions/."""
    (tmp_path / "functions").mkdir()
    write_config(tmp_path, {"api_keys": [{"key": DEMO_KEY}]})
    return tmp_path


def write_config(root: Path, data: dict[str, Any]) -> Path:
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def write_function(project: Path) -> Callable[[str, str], Path]:
    def write(name: str, source: str) -> Path:
        path = project / "functions" / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_app(project: Path) -> Iterator[Callable[..., Emulator]]:
    apps: list[Emulator] = []

    def make(**options: Any) -> Emulator:
        """An app on the in-process runner unless a test passes `runner`: worker
        processes cost a process start each (tests/test_workers.py uses them)."""
        config = config_module.load(project / "config.yaml")
        options.setdefault("runner", InProcessRunner.from_config(config))
        app = create_app(config, **options)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app: Callable[..., Emulator], write_function: Any) -> Emulator:
    return make_app()


@pytest.fixture
def client(app: Emulator) -> Client:
    return Client(app)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def execute_url(
    function: str,
    params: dict[str, str] | None = None,
    *,
    key: str | None = DEMO_KEY,
    version: str = "v2",
) -> str:
    """The execute URL of `function`, with API-key auth unless key is None."""
    query = {"auth_type": "apikey", "zapikey": key} if key else {}
    query.update(params or {})
    pairs = urlencode(query)
    path = f"/crm/{version}/functions/{function}/actions/execute"
    return path + (f"?{pairs}" if pairs else "")


def open_files(path: Path) -> int:
    """How many descriptors of this process point at `path`."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd) == str(path)
    return count
