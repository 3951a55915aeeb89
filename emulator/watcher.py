"""Hot reload: keep the registry in step with the functions folder while serving.

watchdog reports file events; this module turns them into "look at this path
again at time T" (the `Schedule`), and one reloader thread brings each due path
in step with the disk through `Registry.refresh`, which compiles the file and
swaps its entry whole. The disk is the truth and events only say where to look,
so a burst of events for one save (create, modify, close; or vim's rename
dance) costs one compile, and a file that vanishes for a moment during an
atomic save is never dropped.

How long a path waits before it is looked at:
- closed after writing (Linux reports closes), renamed, deleted: at once;
- created or modified: until the writer closes it where closes are reported
  (at most `close_wait`), else after a short `settle` quiet time.
A file found missing is dropped only if it is still missing `vanish` seconds
later (an editor's save may be half done), and a file found empty is loaded
only if it is still empty `close_wait` seconds later (created, not yet
written); any event for it in between cuts the wait short.

A reload-loop guard (`Storms`) holds the reloads of a file that changes more
than `storm_limit` times in `storm_window` seconds (a tool rewriting it in a
loop, an event storm) until it stays unchanged for `storm_quiet` seconds, then
loads its final state once. config.yaml is watched too: a change is validated
and reported as needing a restart; it is never applied to a running server.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import (
    EventsLostEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from . import config as config_module
from .errors import ConfigError
from .registry import Change, Registry, api_name
from .reporter import Reporter

if TYPE_CHECKING:
    from .app import Emulator

# The events we act on; opens and read-only closes (our own reads among them)
# are not even asked of the kernel.
EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileClosedEvent,
    EventsLostEvent,
]


@dataclass(frozen=True)
class WatchPolicy:
    """Timings of the watcher, in seconds; the defaults are what `serve` uses."""

    settle: float = 0.03
    close_wait: float = 1.0
    vanish: float = 0.1
    storm_limit: int = 30
    storm_window: float = 3.0
    storm_quiet: float = 1.0


@dataclass(frozen=True)
class Due:
    """A path to look at now; `waited` once an empty file was given time to fill."""

    path: Path
    waited: bool = False


class Schedule:
    """Paths to look at again, each with the time it is due. Thread-safe.

    A new event for a pending path moves its time (the last event decides), but
    never past `cap` seconds after the first event of the burst, so a file that
    is written without pause is still loaded.
    """

    def __init__(self, cap: float) -> None:
        self.cap = cap
        # path -> (due, since, waited)
        self._due: dict[Path, tuple[float, float, bool]] = {}
        self._cond = threading.Condition()
        self._closed = False

    def add(
        self, path: Path, delay: float, *, capped: bool = True, waited: bool = False
    ) -> None:
        now = time.monotonic()
        with self._cond:
            since = self._due[path][1] if path in self._due else now
            due = min(now + delay, since + self.cap) if capped else now + delay
            self._due[path] = (due, since, waited)
            self._cond.notify()

    def take(self) -> list[Due] | None:
        """Block until some paths are due and return them; None once closed."""
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                ready = sorted(p for p, entry in self._due.items() if entry[0] <= now)
                if ready:
                    return [Due(p, self._due.pop(p)[2]) for p in ready]
                first = min((entry[0] for entry in self._due.values()), default=None)
                self._cond.wait(None if first is None else first - now)
            return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Storms:
    """The reload-loop guard: counts the changes of each file in a sliding window.

    Thread-safe: the reloader counts, the observer thread asks what is held.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._held: set[Path] = set()
        self._loads: dict[Path, deque[float]] = {}
        self._lock = threading.Lock()

    def over(self, path: Path) -> bool:
        """True when `path` has already changed `limit` times in the window: it is
        held from now on, until `release`."""
        now = time.monotonic()
        with self._lock:
            loads = self._loads.get(path, deque())
            while loads and loads[0] <= now - self.window:
                loads.popleft()
            if len(loads) >= self.limit:
                self._held.add(path)
                return True
            return False

    def count(self, path: Path) -> None:
        """Count one change of `path`."""
        with self._lock:
            self._loads.setdefault(path, deque()).append(time.monotonic())

    def is_held(self, path: Path) -> bool:
        with self._lock:
            return path in self._held

    def release(self, path: Path) -> None:
        with self._lock:
            self._held.discard(path)
            self._loads.pop(path, None)


class Watcher:
    """Watches the functions folder (and config.yaml) and reloads what changes."""

    def __init__(
        self,
        registry: Registry,
        reporter: Reporter,
        *,
        config_file: Path | None = None,
        policy: WatchPolicy | None = None,
        observer_factory: Callable[[], BaseObserver] = Observer,
    ) -> None:
        self.registry = registry
        self.reporter = reporter
        self.folder = registry.folder
        self.config_file = config_file
        self.policy = policy or WatchPolicy()
        self.closes_reported = False  # set at the first close event seen
        self.problem = ""  # why watching could not start, if it could not
        self._schedule = Schedule(self.policy.close_wait)
        self._storms = Storms(self.policy.storm_limit, self.policy.storm_window)
        self._observer = observer_factory()
        self._thread = threading.Thread(
            target=self._run, name="zcrm-reloader", daemon=True
        )
        self._config_started = _digest(config_file)
        self._config_seen = self._config_started

    @classmethod
    def for_app(cls, app: Emulator, policy: WatchPolicy | None = None) -> Watcher:
        """A watcher of the app's functions folder and config file."""
        config_file = config_file_of(app.config.root, app.config.source)
        return cls(app.registry, app.reporter, config_file=config_file, policy=policy)

    def start(self) -> None:
        """Start watching, then look at every file once to catch edits made since
        the registry was loaded."""
        handler = _Handler(self._on_event)
        try:
            for folder in self._folders():
                self._observer.schedule(handler, str(folder), event_filter=EVENTS)
            self._observer.start()
        except OSError as exc:
            # Out of inotify watches or instances: serve on, say so in the banner.
            self.problem = exc.strerror or str(exc)
            return
        self._thread.start()
        self._rescan()

    def stop(self) -> None:
        self._schedule.close()
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=5)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def describe(self) -> str:
        """What is watched, for the banner."""
        folder = _shown(self.folder, self.registry.root) + os.sep
        watched = [folder] if self.folder.is_dir() else []
        if self.config_file is not None:
            watched.append(_shown(self.config_file, self.registry.root))
        if self.problem:
            return (
                f"Not watching for changes ({self.problem}): restart to load edited "
                f"scripts. On Linux, raise the sysctl fs.inotify.max_user_watches and "
                f"fs.inotify.max_user_instances."
            )
        text = f"Watching {' and '.join(watched) or 'nothing'}"
        if not self.folder.is_dir():
            return f"{text}: {folder} does not exist; create it and restart."
        return f"{text}: saved scripts reload at once."

    def _folders(self) -> list[Path]:
        folders = [self.folder] if self.folder.is_dir() else []
        config_folder = self.config_file.parent if self.config_file else None
        if config_folder and config_folder.is_dir() and config_folder not in folders:
            folders.append(config_folder)
        return folders

    def _on_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, EventsLostEvent):
            self._rescan()
            return
        for path, delay in self._waits(event):
            if path != self.config_file and not self._is_function(path):
                continue
            if self._storms.is_held(path):
                self._schedule.add(path, self.policy.storm_quiet, capped=False)
            else:
                self._schedule.add(path, delay)

    def _waits(self, event: FileSystemEvent) -> list[tuple[Path, float]]:
        """The paths an event concerns, each with how long to let it settle."""
        src = Path(os.fsdecode(event.src_path))
        if isinstance(event, FileMovedEvent):
            return [(src, 0.0), (Path(os.fsdecode(event.dest_path)), 0.0)]
        if isinstance(event, FileClosedEvent):
            self.closes_reported = True
            return [(src, 0.0)]
        if isinstance(event, FileDeletedEvent):
            return [(src, 0.0)]
        if isinstance(event, FileModifiedEvent) and self.closes_reported:
            return [(src, self.policy.close_wait)]
        return [(src, self.policy.settle)]

    def _is_function(self, path: Path) -> bool:
        return path.parent == self.folder and api_name(path) is not None

    def _rescan(self) -> None:
        paths = {s.path for s in self.registry.all()}
        if self.folder.is_dir():
            paths.update(p for p in self.folder.glob("*.py") if api_name(p))
        for path in paths:
            self._schedule.add(path, 0.0)

    def _run(self) -> None:
        while (due := self._schedule.take()) is not None:
            for item in due:
                self._visit(item)

    def _visit(self, due: Due) -> None:
        # The reloader thread's top level: it must outlive any surprise, or
        # reloads would stop silently; a bug of ours becomes a console note.
        try:
            data = _read(due.path)
            if not data and not due.waited:
                # Gone, or created and not yet written: a save may be half done.
                wait = self.policy.vanish if data is None else self.policy.close_wait
                self._schedule.add(due.path, wait, waited=True)
            elif due.path == self.config_file:
                self._check_config(data)
            else:
                self._reload(due.path, data)
        except Exception as exc:  # noqa: BLE001
            self.reporter.note(f"reload of {due.path} failed in the emulator: {exc!r}")

    def _reload(self, path: Path, data: bytes | None) -> None:
        if self._held(path):
            return
        started = time.perf_counter()
        change = self.registry.refresh(path, data)
        if change is not None:
            self._storms.count(path)
            elapsed = (time.perf_counter() - started) * 1000
            for line in change_lines(change, elapsed):
                self.reporter.note(line)

    def _held(self, path: Path) -> bool:
        """The reload-loop guard: True while `path` changes too often to load."""
        shown = _shown(path, self.registry.root)
        if self._storms.is_held(path):
            self._storms.release(path)
            self.reporter.note(f"{shown} is quiet again; loading its last version")
            return False
        if self._storms.over(path):
            self._schedule.add(path, self.policy.storm_quiet, capped=False)
            self.reporter.note(storm_line(shown, self.policy))
            return True
        return False

    def _check_config(self, data: bytes | None) -> None:
        assert self.config_file is not None
        digest = None if data is None else hashlib.sha256(data).hexdigest()
        if digest == self._config_seen:
            return
        self._config_seen = digest
        self.reporter.note(config_line(self.config_file, digest, self._config_started))


class _Handler(FileSystemEventHandler):
    """Passes every file event (and a lost-events notice) to the watcher."""

    def __init__(self, on_event: Callable[[FileSystemEvent], None]) -> None:
        self.on_event = on_event

    def dispatch(self, event: FileSystemEvent) -> None:
        if not event.is_directory or isinstance(event, EventsLostEvent):
            self.on_event(event)


def change_lines(change: Change, elapsed_ms: float) -> list[str]:
    """The console lines for one registry change: one line, plus each load error."""
    before, after = change.before, change.after
    if after is None:
        shown = before.display if before else change.name
        return [f"removed {change.name}: {shown} is gone"]
    took = f"in {elapsed_ms:.1f}ms"
    if not after.ok:
        count = len(after.problems)
        errors = "1 error" if count == 1 else f"{count} errors"
        return [
            f"LOAD ERROR {after.name} v{after.version}: {errors} in {after.display}; "
            f"calls answer FUNCTION_LOAD_ERROR until it is fixed",
            *(f"    {p.where()}: {p.message}" for p in after.problems),
        ]
    if before is None:
        return [f"added {after.name} v{after.version} {took} ({after.display})"]
    was = f"was v{before.version}" + ("" if before.ok else ", broken")
    return [f"reloaded {after.name} v{after.version} {took} ({was})"]


def storm_line(shown: str, policy: WatchPolicy) -> str:
    return (
        f"{shown} changed more than {policy.storm_limit} times in "
        f"{policy.storm_window:g}s; holding its reloads until it stays unchanged for "
        f"{policy.storm_quiet:g}s. Is a tool rewriting it in a loop?"
    )


def config_line(path: Path, digest: str | None, started: str | None) -> str:
    """What to say about a changed config file (it is never applied while serving)."""
    if digest == started:
        return f"{path.name} is back to the version this server runs; no restart needed"
    if digest is None:
        return (
            f"{path.name} was removed; the server keeps the config it started with. "
            f"Restore the file before the next start."
        )
    try:
        config_module.load(path)
    except ConfigError as exc:
        return (
            f"{path.name} changed and is not valid: {exc.message} "
            f"The server keeps the config it started with."
        )
    return (
        f"{path.name} changed: restart the server to apply it "
        f"(config changes are not hot-applied; function scripts are)"
    )


def config_file_of(root: Path, source: str) -> Path:
    """The config file a `Config` was read from (its `source`, against its root)."""
    return root / Path(source).name


def _digest(path: Path | None) -> str | None:
    data = _read(path) if path else None
    return None if data is None else hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    """The file's bytes; None when it cannot be read (the registry says why)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
