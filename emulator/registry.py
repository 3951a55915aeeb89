"""The compiled functions of the project, one entry per script, swapped whole.

A script is compiled, never imported: nothing goes into sys.modules, and a
reload is "compile, then replace one dict entry", so a request sees the old
version or the new one, never half of each.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import sandbox
from .outcome import Problem
from .sandbox import Compiled

API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Script:
    name: str
    path: Path
    display: str  # the path as the user sees it, relative to the project
    version: str
    source: str
    compiled: Compiled

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.compiled.problems

    @property
    def ok(self) -> bool:
        return self.compiled.code is not None


def api_name(path: Path) -> str | None:
    """The API name a file serves, or None for files that are not functions."""
    if path.suffix != ".py" or not API_NAME.match(path.stem):
        return None
    return path.stem


def suggested_name(stem: str) -> str:
    """A valid API name close to `stem`: `my-fn` -> `my_fn`, `2fast` -> `f_2fast`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem)
    return name if name[:1].isalpha() else f"f_{name}"


def misnamed_hint(path: Path) -> str:
    return (
        f"{path.name} is not served: '{path.stem}' is not a valid API name (letters, "
        f"digits and '_', starting with a letter); rename it to "
        f"{suggested_name(path.stem)}.py"
    )


def warnings(
    folder: Path, served: Iterable[str], configured: Iterable[str]
) -> list[str]:
    """What a user would want to know but nothing fails on: script files that are
    not served because of their name, and config entries for no function."""
    found: list[str] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.py")):
            if not path.name.startswith("_") and api_name(path) is None:
                found.append(misnamed_hint(path))
    names = sorted(set(served))
    for name in configured:
        if name not in names:
            known = ", ".join(names) or "none"
            found.append(
                f"config.yaml: functions.{name} names no function (the functions are: "
                f"{known}); fix the name or remove the entry"
            )
    return found


def version_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:10]


@dataclass(frozen=True)
class Change:
    """What `Registry.refresh` did to one name: its entry before and after."""

    name: str
    before: Script | None
    after: Script | None


def compile_file(path: Path, display: str, entry_point: str) -> Script:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _unreadable(path, display, exc)
    return compile_data(path, display, entry_point, data)


def compile_data(path: Path, display: str, entry_point: str, data: bytes) -> Script:
    name = api_name(path) or path.stem
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _unreadable(path, display, exc)
    compiled = sandbox.compile_script(source, display, entry_point)
    return Script(name, path, display, version_of(data), source, compiled)


def _unreadable(path: Path, display: str, exc: Exception) -> Script:
    name = api_name(path) or path.stem
    problem = Problem(display, None, f"cannot read the script: {exc}")
    return Script(name, path, display, "", "", Compiled(None, problems=(problem,)))


class Registry:
    def __init__(self, folder: Path, root: Path, entry_point: str) -> None:
        self.folder = folder
        self.root = root
        self.entry_point = entry_point
        self._scripts: dict[str, Script] = {}
        self._lock = threading.Lock()

    def load_all(self) -> list[Script]:
        """Compile every script of the folder; the registry then holds exactly those."""
        paths = sorted(self.folder.glob("*.py")) if self.folder.is_dir() else []
        scripts = [self._compile(p) for p in paths if api_name(p)]
        with self._lock:
            self._scripts = {s.name: s for s in scripts}
        return scripts

    def refresh(self, path: Path, data: bytes | None = None) -> Change | None:
        """Bring one function in step with its file; None when nothing changed.

        `data` is the file's content when the caller has read it already. A
        file whose bytes match the current entry is not compiled again, so
        repeated events for one save cost a read and a hash.
        """
        name = api_name(path)
        if name is None:
            return None
        before = self.get(name)
        after = self._fresh(path, before, data)
        if after is None:
            return Change(name, before, None) if self.remove(name) else None
        if after is before:
            return None
        with self._lock:
            self._scripts[name] = after
        return Change(name, before, after)

    def remove(self, name: str) -> bool:
        with self._lock:
            return self._scripts.pop(name, None) is not None

    def get(self, name: str) -> Script | None:
        return self._scripts.get(name)

    def all(self) -> list[Script]:
        with self._lock:
            return sorted(self._scripts.values(), key=lambda s: s.name)

    def _compile(self, path: Path) -> Script:
        return compile_file(path, self._display(path), self.entry_point)

    def _fresh(
        self, path: Path, current: Script | None, data: bytes | None
    ) -> Script | None:
        """The file's script: None when it is gone, `current` when it is unchanged."""
        try:
            data = path.read_bytes() if data is None else data
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            return _unreadable(path, self._display(path), exc)
        if current and current.path == path and current.version == version_of(data):
            return current
        return compile_data(path, self._display(path), self.entry_point, data)

    def _display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)
