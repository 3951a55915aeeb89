"""The pytest plugin for function authors (registered through `pytest11`).

Installing zcrm-emulator is enough: in your project's tests,

    def test_hello(zcrm):
        result = zcrm.invoke("hello", params={"name": "Ada"})
        assert result.output == "Hello, Ada!"

`zcrm` runs your project's functions (config.yaml in the pytest root folder,
or --zcrm-config) through the whole stack in-process. State (keys, history)
goes to a temporary folder, never to your project's .emulator/.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import config as config_module
from .config import Config
from .invoker import Invoker, Result

__all__ = ["Invoker", "Result"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zcrm-emulator")
    group.addoption(
        "--zcrm-config",
        default=None,
        help="config.yaml of the project under test (default: <rootdir>/config.yaml)",
    )
    parser.addini("zcrm_config", "config.yaml of the project under test", default="")


def _config_path(request: pytest.FixtureRequest) -> Path:
    """--zcrm-config, else the zcrm_config ini value, else the nearest config.yaml
    in the pytest root folder or above it (so `cd tests && pytest` works too)."""
    chosen = request.config.getoption("--zcrm-config") or request.config.getini(
        "zcrm_config"
    )
    root = Path(request.config.rootpath)
    if chosen:
        return root / str(chosen)
    for folder in (root, *root.parents):
        if (folder / config_module.DEFAULT_FILE).is_file():
            return folder / config_module.DEFAULT_FILE
    return root / config_module.DEFAULT_FILE


def _isolated(config: Config, state: Path) -> Config:
    return dataclasses.replace(config, state_dir=str(state))


@pytest.fixture
def zcrm_config(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    """The project's config, with its state moved to a temporary folder."""
    return _isolated(config_module.load(_config_path(request)), tmp_path / "zcrm-state")


@pytest.fixture
def zcrm(zcrm_config: Config) -> Iterator[Invoker]:
    """An in-process emulator of your project: `zcrm.invoke(name, params=..., ...)`."""
    with Invoker(zcrm_config) as invoker:
        yield invoker


@pytest.fixture
def zcrm_temp(tmp_path: Path) -> Iterator[Callable[..., Invoker]]:
    """Build a throwaway project: `zcrm_temp({"name": "def handler(): ..."}, config={...})`."""
    made: list[Invoker] = []

    def make(
        functions: dict[str, str], config: dict[str, Any] | None = None
    ) -> Invoker:
        root = tmp_path / f"project{len(made)}"
        (root / "functions").mkdir(parents=True)
        for name, source in functions.items():
            (root / "functions" / f"{name}.py").write_text(textwrap.dedent(source))
        (root / "config.yaml").write_text(yaml.safe_dump(config or {}))
        invoker = Invoker(config_module.load(root / "config.yaml"))
        made.append(invoker)
        return invoker

    yield make
    for invoker in made:
        invoker.close()
