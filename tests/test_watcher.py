"""Hot reload with the real watchdog observer on a temporary project folder.

Every wait polls a condition with a timeout; nothing here asserts a duration.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import execute_url, write_config
from test_server import ROOT, Server, url
from watchdog.events import EventsLostEvent
from watchdog.observers.api import BaseObserver, EventEmitter
from werkzeug.test import Client

from emulator import config as config_module
from emulator.app import VERSION_HEADER, Emulator
from emulator.errors import ConfigError
from emulator.registry import Registry, version_of
from emulator.watcher import Due, Schedule, Watcher, WatchPolicy

TIMEOUT = 10.0


class Notes:
    """A reporter that keeps the console notes for the test to read."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()

    def note(self, text: str) -> None:
        with self._lock:
            self._lines.append(text)

    def invocation(self, record: Any) -> None:
        return None

    @property
    def lines(self) -> list[str]:
        """The notes so far, with the compile time ("in 0.4ms") taken out."""
        with self._lock:
            return [re.sub(r" in \d+\.\dms", "", line) for line in self._lines]


def wait_until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {TIMEOUT}s waiting for {what}")
        time.sleep(0.002)


def wait_for_note(notes: Notes, line: str) -> None:
    wait_until(lambda: line in notes.lines, f"the note {line!r}; got {notes.lines}")


@pytest.fixture
def notes() -> Notes:
    return Notes()


@pytest.fixture
def watch(
    make_app: Callable[..., Emulator], notes: Notes
) -> Iterator[Callable[..., Emulator]]:
    """Start an app and a real watcher of its project; both stop after the test."""
    watchers: list[Watcher] = []

    def start(policy: WatchPolicy | None = None) -> Emulator:
        app = make_app(reporter=notes)
        watcher = Watcher.for_app(app, policy)
        watcher.start()
        watchers.append(watcher)
        return app

    yield start
    for watcher in watchers:
        watcher.stop()


def source(output: str, work: int = 0) -> str:
    loop = f"    for i in range({work}):\n        pass\n" if work else ""
    return f"def handler():\n{loop}    return {output!r}\n"


def save(path: Path, text: str) -> str:
    """Write `text` in place, as most tools do; return the version it will have."""
    path.write_text(text, encoding="utf-8")
    return version_of(text.encode())


def served(app: Emulator, name: str) -> str | None:
    script = app.registry.get(name)
    return script.version if script else None


def call(client: Client, name: str) -> tuple[int, str | None, Any]:
    response = client.get(execute_url(name))
    return response.status_code, response.headers.get(VERSION_HEADER), response.json


def test_a_saved_script_answers_the_next_call_with_its_new_code(
    write_function, watch, notes
):
    path = write_function("hello", source("one"))
    app = watch()
    old = served(app, "hello")
    new = save(path, source("two"))
    wait_for_note(notes, f"reloaded hello v{new} (was v{old})")
    status, version, body = call(Client(app), "hello")
    assert (status, version, body["details"]["output"]) == (200, new, "two")
    assert notes.lines == [f"reloaded hello v{new} (was v{old})"]


def test_a_new_script_is_served_without_a_restart(project, watch, notes):
    app = watch()
    version = save(project / "functions" / "hi.py", source("hi"))
    wait_for_note(notes, f"added hi v{version} (functions/hi.py)")
    assert call(Client(app), "hi")[:2] == (200, version)


def test_a_deleted_script_leaves_and_its_url_answers_404(write_function, watch, notes):
    path = write_function("hello", source("one"))
    app = watch()
    path.unlink()
    wait_for_note(notes, "removed hello: functions/hello.py is gone")
    status, version, body = call(Client(app), "hello")
    assert (status, version, body["code"]) == (404, None, "INVALID_URL_PATTERN")
    assert body["details"]["hint"] == (
        "no function named 'hello'; the functions are: none"
    )


def test_a_renamed_script_moves_to_its_new_name(write_function, watch, notes):
    path = write_function("hello", source("one"))
    app = watch()
    version = served(app, "hello")
    path.rename(path.with_name("hi.py"))
    wait_for_note(notes, "removed hello: functions/hello.py is gone")
    wait_for_note(notes, f"added hi v{version} (functions/hi.py)")
    client = Client(app)
    assert call(client, "hi")[:2] == (200, version)
    assert call(client, "hello")[0] == 404


def rename_over(path: Path, text: str) -> None:
    """Write a temp file beside the script, then rename it over (many editors)."""
    temp = path.with_name(f".{path.name}.tmp1234")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def backup_then_write(path: Path, text: str) -> None:
    """vim and emacs: move the script to a backup, write it anew, drop the backup."""
    backup = path.with_name(path.name + "~")
    os.rename(path, backup)
    path.write_text(text, encoding="utf-8")
    backup.unlink()


def jetbrains(path: Path, text: str) -> None:
    """JetBrains' safe write: a ___jb_tmp___ file, the old one moved aside."""
    temp = path.with_name(path.name + "___jb_tmp___")
    old = path.with_name(path.name + "___jb_old___")
    temp.write_text(text, encoding="utf-8")
    os.rename(path, old)
    os.rename(temp, path)
    old.unlink()


@pytest.mark.parametrize(
    "save_as",
    [
        pytest.param(rename_over, id="temp-file-renamed-over"),
        pytest.param(backup_then_write, id="vim-backup-then-write"),
        pytest.param(jetbrains, id="jetbrains-safe-write"),
    ],
)
def test_atomic_saves_reload_once_and_never_drop_the_function(
    write_function, watch, notes, save_as
):
    path = write_function("hello", source("one"))
    app = watch()
    old = served(app, "hello")
    text = source("two")
    save_as(path, text)
    new = version_of(text.encode())
    wait_for_note(notes, f"reloaded hello v{new} (was v{old})")
    assert [s.name for s in app.registry.all()] == ["hello"]
    assert call(Client(app), "hello")[:2] == (200, new)
    # The script was away for a moment during the save: it must not have left.
    assert notes.lines == [f"reloaded hello v{new} (was v{old})"]


def test_editor_temp_swap_backup_files_and_pycache_are_ignored(project, watch, notes):
    app = watch()
    folder = project / "functions"
    for name in (
        ".hello.py.swp",
        "hello.py~",
        "#hello.py#",
        ".#hello.py",
        "4913",
        "hello.py.bak",
        "hello.py___jb_tmp___",
        "_helper.py",
        "notes.txt",
    ):
        (folder / name).write_text(source("ignored"), encoding="utf-8")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "hello.cpython-311.pyc").write_bytes(b"\0")
    version = save(folder / "last.py", source("last"))
    wait_for_note(notes, f"added last v{version} (functions/last.py)")
    assert [s.name for s in app.registry.all()] == ["last"]
    assert notes.lines == [f"added last v{version} (functions/last.py)"]


BROKEN = """\
def handler():
    _secret = 1
    return _secret.__class__
"""


def test_a_broken_save_shows_every_error_then_the_fix_is_picked_up(
    write_function, watch, notes
):
    path = write_function("hello", source("one"))
    write_function("other", source("other"))
    app = watch()
    client = Client(app)
    broken = save(path, BROKEN)
    secret = (
        '"_secret" is an invalid variable name because it starts with "_". Names '
        "that start with '_' are reserved for the sandbox; rename it."
    )
    dunder = (
        '"__class__" is an invalid attribute name because it starts with "_". '
        "Private and special attributes (those that start with '_') are not "
        "available in functions."
    )
    errors = [
        f"    functions/hello.py, line 2: {secret}",
        f"    functions/hello.py, line 3: {dunder}",
        f"    functions/hello.py, line 3: {secret}",
    ]
    wait_for_note(notes, errors[-1])
    assert notes.lines == [
        f"LOAD ERROR hello v{broken}: 3 errors in functions/hello.py; "
        "calls answer FUNCTION_LOAD_ERROR until it is fixed",
        *errors,
    ]
    status, version, body = call(client, "hello")
    assert (status, version, body["code"]) == (500, broken, "FUNCTION_LOAD_ERROR")
    assert [(e["line"], e["message"]) for e in body["details"]["errors"]] == [
        (2, secret),
        (3, dunder),
        (3, secret),
    ]
    assert call(client, "other")[0] == 200
    fixed = save(path, source("fixed"))
    wait_for_note(notes, f"reloaded hello v{fixed} (was v{broken}, broken)")
    status, version, body = call(client, "hello")
    assert (status, version, body["details"]["output"]) == (200, fixed, "fixed")


def test_many_files_saved_at_once_are_each_loaded_once(project, watch, notes):
    app = watch()
    folder = project / "functions"
    versions = {
        f"f{i:02}": save(folder / f"f{i:02}.py", source(str(i))) for i in range(40)
    }
    expected = sorted(f"added {n} v{v} (functions/{n}.py)" for n, v in versions.items())
    wait_until(
        lambda: sorted(notes.lines) == expected, f"40 added lines; got {notes.lines}"
    )
    client = Client(app)
    for name, version in versions.items():
        assert call(client, name)[:2] == (200, version)


def test_calls_in_flight_during_reloads_get_the_old_or_the_new_version(
    write_function, watch, notes
):
    """Four threads call without pause while the script is saved ten times."""
    path = write_function("hello", source("v0", work=2000))
    app = watch()
    outputs = {served(app, "hello"): "v0"}
    order = [served(app, "hello")]
    done = threading.Event()
    seen: list[list[tuple[int, str | None, str]]] = [[] for _ in range(4)]

    def caller(results: list[tuple[int, str | None, str]]) -> None:
        client = Client(app)
        # Callers go on until the saves are done, however long a slow machine
        # takes; the cap only keeps a broken test from running forever.
        deadline = time.monotonic() + 12 * TIMEOUT
        while time.monotonic() < deadline:
            last = done.is_set()
            status, version, body = call(client, "hello")
            results.append((status, version, body["details"].get("output", "")))
            if last:
                return

    threads = [threading.Thread(target=caller, args=(s,)) for s in seen]
    for thread in threads:
        thread.start()
    for i in range(11):
        if i:
            version = save(path, source(f"v{i}", work=2000))
            outputs[version] = f"v{i}"
            order.append(version)
            wait_until(lambda v=version: served(app, "hello") == v, f"v{i} to load")
        # Two more calls per thread: the second one started after the swap.
        counts = [len(s) for s in seen]
        wait_until(
            lambda c=counts: all(len(s) > n + 1 for s, n in zip(seen, c, strict=True)),
            f"every thread to call v{i}",
        )
    done.set()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    for results in seen:
        assert {status for status, _, _ in results} == {200}
        assert all(outputs[version] == output for _, version, output in results)
        indexes = [order.index(version) for _, version, _ in results]
        assert indexes == sorted(indexes), "a call went back to an older version"
        assert set(indexes) == set(range(11))


def test_an_edit_made_before_the_watcher_started_is_loaded(
    write_function, make_app, notes
):
    path = write_function("hello", source("one"))
    app = make_app(reporter=notes)
    old = served(app, "hello")
    new = save(path, source("two"))
    with Watcher.for_app(app):
        wait_for_note(notes, f"reloaded hello v{new} (was v{old})")


def test_config_changes_are_reported_as_needing_a_restart(project, watch, notes):
    watch()
    original = (project / "config.yaml").read_bytes()
    write_config(project, {"entry_point": "main"})
    wait_for_note(
        notes,
        "config.yaml changed: restart the server to apply it "
        "(config changes are not hot-applied; function scripts are)",
    )
    write_config(project, {"nope": 1})
    with pytest.raises(ConfigError) as invalid:
        config_module.load(project / "config.yaml")
    wait_for_note(
        notes,
        f"config.yaml changed and is not valid: {invalid.value.message} "
        "The server keeps the config it started with.",
    )
    assert "unknown key 'nope'" in invalid.value.message
    (project / "config.yaml").write_bytes(original)
    wait_for_note(
        notes, "config.yaml is back to the version this server runs; no restart needed"
    )
    (project / "config.yaml").unlink()
    wait_for_note(
        notes,
        "config.yaml was removed; the server keeps the config it started with. "
        "Restore the file before the next start.",
    )


def test_a_config_saved_through_a_backup_is_changed_not_removed(project, watch, notes):
    watch()
    config = project / "config.yaml"
    backup_then_write(config, config.read_text() + "org: {name: Other}\n")
    line = (
        "config.yaml changed: restart the server to apply it "
        "(config changes are not hot-applied; function scripts are)"
    )
    wait_for_note(notes, line)
    assert notes.lines == [line]


class Silent(EventEmitter):
    """An emitter that reports nothing by itself: the test queues events."""

    def queue_events(self, timeout: float) -> None:
        time.sleep(timeout)


def test_lost_events_make_the_watcher_look_at_every_file_again(
    project, write_function, make_app, notes
):
    path = write_function("hello", source("v0"))
    app = make_app(reporter=notes)
    observer = BaseObserver(Silent, timeout=0.01)
    with Watcher(app.registry, notes, observer_factory=lambda: observer):
        [emitter] = observer.emitters
        for i in (1, 2):
            old = served(app, "hello")
            new = save(path, source(f"v{i}"))
            emitter.queue_event(EventsLostEvent(str(project / "functions")))
            wait_for_note(notes, f"reloaded hello v{new} (was v{old})")


def test_banner_line_says_when_the_functions_folder_is_missing(tmp_path, notes):
    registry = Registry(tmp_path / "functions", tmp_path, "handler")
    watcher = Watcher(registry, notes, config_file=tmp_path / "config.yaml")
    assert watcher.describe() == (
        "Watching config.yaml: functions/ does not exist; create it and restart."
    )
    (tmp_path / "functions").mkdir()
    assert watcher.describe() == (
        "Watching functions/ and config.yaml: saved scripts reload at once."
    )


class Exhausted(BaseObserver):
    """An observer whose kernel is out of inotify watches."""

    def __init__(self) -> None:
        super().__init__(Silent)

    def schedule(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "inotify watch limit reached")


def test_a_watcher_that_cannot_start_says_so_and_the_server_serves_on(
    write_function, make_app, notes
):
    write_function("hello", source("one"))
    app = make_app(reporter=notes)
    with Watcher(app.registry, notes, observer_factory=Exhausted) as watcher:
        assert watcher.describe() == (
            "Not watching for changes (inotify watch limit reached): restart to load "
            "edited scripts. On Linux, raise the sysctl fs.inotify.max_user_watches "
            "and fs.inotify.max_user_instances."
        )
    assert call(Client(app), "hello")[0] == 200


def test_a_file_rewritten_in_a_loop_is_held_then_loaded_once_when_quiet(
    write_function, watch, notes
):
    policy = WatchPolicy(storm_limit=3, storm_window=60, storm_quiet=0.2)
    path = write_function("hello", source("v0"))
    app = watch(policy)
    versions = [served(app, "hello")]
    for i in range(1, 4):
        versions.append(save(path, source(f"v{i}")))
        wait_until(lambda: served(app, "hello") == versions[-1], f"v{i} to load")
    for i in range(4, 7):
        versions.append(save(path, source(f"v{i}")))
    wait_for_note(notes, f"reloaded hello v{versions[6]} (was v{versions[3]})")
    assert notes.lines == [
        *(f"reloaded hello v{versions[i]} (was v{versions[i - 1]})" for i in (1, 2, 3)),
        "functions/hello.py changed more than 3 times in 60s; holding its reloads "
        "until it stays unchanged for 0.2s. Is a tool rewriting it in a loop?",
        "functions/hello.py is quiet again; loading its last version",
        f"reloaded hello v{versions[6]} (was v{versions[3]})",
    ]


def test_schedule_caps_the_wait_of_a_file_written_without_pause(tmp_path):
    schedule = Schedule(cap=0.0)
    schedule.add(tmp_path / "a.py", 3600.0)
    taken: list[list[Due] | None] = []
    thread = threading.Thread(target=lambda: taken.append(schedule.take()))
    thread.start()
    thread.join(timeout=TIMEOUT)
    schedule.close()
    assert taken == [[Due(tmp_path / "a.py")]]


def test_serve_reloads_saved_scripts_and_says_so_on_the_console(tmp_path):
    shutil.copytree(ROOT / "functions", tmp_path / "functions")
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    server = Server(tmp_path)
    try:
        assert (
            "Watching functions/ and config.yaml: saved scripts reload at once.\n"
            in server.banner
        )
        new = save(tmp_path / "functions" / "hello.py", source("edited"))
        wait_until(
            lambda: server.call(url("hello"))[1].get(VERSION_HEADER) == new,
            "the server to answer with the new version",
        )
        status, _, body = server.call(url("hello"))
        assert (status, json.loads(body)["details"]["output"]) == (200, "edited")
    finally:
        log = server.stop()
    assert re.search(rf"\nreloaded hello v{new} in \d+\.\dms \(was v\w+\)\n", log)


def test_serve_no_watch_keeps_the_code_it_started_with(tmp_path):
    shutil.copytree(ROOT / "functions", tmp_path / "functions")
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    server = Server(tmp_path, "--no-watch")
    try:
        assert (
            "Not watching for changes (--no-watch): restart to load edited scripts.\n"
            in server.banner
        )
        _, headers, _ = server.call(url("hello"))
        save(tmp_path / "functions" / "hello.py", source("edited"))
        status, after, _ = server.call(url("hello"))
        assert (status, after[VERSION_HEADER]) == (200, headers[VERSION_HEADER])
    finally:
        log = server.stop()
    assert "reloaded" not in log
