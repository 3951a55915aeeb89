"""The worker pool: isolation per call, crashes, hot code, shutdown, `serve`.

Most tests run in both isolation modes (`limits.isolation`): a zygote that
forks a fresh process per call, and a long-lived worker.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_KEY, write_config
from sandbox_support import ISOLATIONS, SMALL, alive, descendants, script, wait_until
from server_support import Server
from werkzeug.test import Client

from emulator import config as config_module
from emulator.app import create_app
from emulator.errors import EmulatorError
from emulator.execution import cpu_seconds
from emulator.limits import PROCESS, WORKER, Limits
from emulator.outcome import Outcome
from emulator.protocol import Job, JobLines, write_all
from emulator.registry import Script
from emulator.runner import InProcessRunner
from emulator.worker import CPU_SLACK
from emulator.workers import (
    KEPT_ENVIRONMENT,
    IdleWorkers,
    Worker,
    WorkerRunner,
    default_size,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=ISOLATIONS)
def isolation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pool(isolation: str) -> Iterator[WorkerRunner]:
    """One worker, so that consecutive calls surely share it."""
    runner = WorkerRunner("handler", lambda name: SMALL, 1, isolation=isolation)
    yield runner
    runner.close()


def run_in_thread(
    runner: WorkerRunner, job: Script
) -> tuple[threading.Thread, dict[str, Outcome]]:
    result: dict[str, Outcome] = {}
    if runner.isolation == WORKER:  # started: the job then surely runs in the worker
        runner.run(script("def handler():\n    return 0\n", "first"), {})
    thread = threading.Thread(target=lambda: result.update(outcome=runner.run(job, {})))
    thread.start()
    assert wait_until(lambda: runner.busy() == 1)
    return thread, result


def running_process(runner: WorkerRunner) -> int:
    """The process running the current call: a zygote's only child then, or
    the long-lived worker itself."""
    (worker,) = runner.pids()
    if runner.isolation == WORKER:
        return worker
    assert wait_until(lambda: len(descendants(worker)) == 1)
    (child,) = descendants(worker)
    return child


def test_a_function_runs_in_a_worker_process(pool: WorkerRunner) -> None:
    outcome = pool.run(
        script("def handler():\n    info('hi')\n    return [1, 'a']\n"), {}
    )
    assert (outcome.value, outcome.info, outcome.problem) == ([1, "a"], ("hi",), None)
    assert outcome.statements == 3  # the def, then info() and return


def test_arguments_cross_the_pipe_as_json_dates_included(pool: WorkerRunner) -> None:
    source = """
        import datetime
        def handler(day, when, data, crmAPIRequest):
            return [day.isoformat(), (when + datetime.timedelta(hours=1)).isoformat(),
                    data, crmAPIRequest["body"]]
        """
    kwargs: dict[str, Any] = {
        "day": dt.date(2026, 12, 4),
        "when": dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC),
        "data": {"type": "date", "value": [1, None, 2.5]},
        "crmAPIRequest": {"body": "raw \u00e9 text", "params": {}},
    }
    outcome = pool.run(script(source), kwargs)
    assert outcome.value == [
        "2026-12-04",
        "2026-12-04T10:30:00+00:00",
        {"type": "date", "value": [1, None, 2.5]},
        "raw \u00e9 text",
    ]


STATEFUL = """
    import calendar
    import decimal
    import random
    SEEN = []
    def handler(crmAPIRequest):
        before = [len(SEEN), calendar.firstweekday(), decimal.getcontext().prec,
                  sorted(crmAPIRequest)]
        SEEN.append(1)
        calendar.setfirstweekday(6)
        decimal.getcontext().prec = 3
        random.seed(1)
        crmAPIRequest["params"] = None
        crmAPIRequest["added"] = 1
        return before
    """


def test_every_call_starts_from_fresh_state_in_the_same_worker(
    pool: WorkerRunner,
) -> None:
    """tests/test_module_state.py has every channel of module state."""
    job = script(STATEFUL)
    request = {"params": {}, "body": ""}
    first, second = (
        pool.run(job, {"crmAPIRequest": request}),
        pool.run(job, {"crmAPIRequest": request}),
    )
    assert first.value == second.value == [0, 0, 28, ["body", "params"]]


def test_calls_get_different_random_numbers(pool: WorkerRunner) -> None:
    job = script(
        "import random, uuid\ndef handler():\n    return [random.random(), str(uuid.uuid4())]\n"
    )
    first, second = pool.run(job, {}).value, pool.run(job, {}).value
    assert first[0] != second[0] and first[1] != second[1]


def test_a_new_version_runs_from_its_first_call(pool: WorkerRunner) -> None:
    old = script("def handler():\n    return 'old'\n", "hot")
    new = script("def handler():\n    return 'new'\n", "hot")
    assert old.version != new.version
    assert [pool.run(s, {}).value for s in (old, old, new, new, old)] == [
        "old",
        "old",
        "new",
        "new",
        "old",
    ]


def test_a_script_that_did_not_compile_is_not_sent(pool: WorkerRunner) -> None:
    broken = script("def handler(:\n", "broken")
    outcome = pool.run(broken, {})
    assert outcome.problem is not None
    assert outcome.problem.message == "the script did not compile"


LONG = "import itertools\ndef handler():\n    return sum(itertools.repeat(1))\n"


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize(
    ("sig", "how"),
    [
        pytest.param(signal.SIGSEGV, "killed by signal SIGSEGV", id="segfault"),
        pytest.param(
            signal.SIGKILL,
            "killed by signal SIGKILL (the system may have run out of memory)",
            id="killed",
        ),
    ],
)
def test_a_call_whose_process_dies_is_a_crash_and_the_next_call_works(
    sig: int, how: str, isolation: str
) -> None:
    runner = WorkerRunner(
        "handler", lambda name: Limits(timeout_seconds=20), 1, isolation=isolation
    )
    try:
        thread, result = run_in_thread(runner, script(LONG, "long"))
        os.kill(running_process(runner), sig)
        thread.join(timeout=10)
        problem = result["outcome"].problem
        assert problem is not None
        assert (problem.kind, problem.file) == ("crash", "functions/long.py")
        assert problem.text() == (
            f"the worker process running the function died: {how} (functions/long.py). "
            "The emulator replaced it; other calls are not affected. A crash like this "
            "is a bug in the emulator or in Python: please report it with the script."
        )
        assert runner.run(script("def handler():\n    return 1\n"), {}).value == 1
    finally:
        runner.close()


def test_a_dead_worker_is_replaced(isolation: str) -> None:
    runner = WorkerRunner(
        "handler", lambda name: Limits(timeout_seconds=20), 1, isolation=isolation
    )
    try:
        thread, result = run_in_thread(runner, script(LONG, "long"))
        (before,) = runner.pids()
        os.killpg(before, signal.SIGKILL)
        thread.join(timeout=10)
        problem = result["outcome"].problem
        assert problem is not None and problem.kind == "crash"
        assert runner.pids() != [before]
        assert runner.run(script("def handler():\n    return 1\n"), {}).value == 1
    finally:
        runner.close()


def test_close_kills_every_worker_and_child(isolation: str) -> None:
    runner = WorkerRunner("handler", lambda name: SMALL, 2, isolation=isolation)
    runner.run(script("def handler():\n    return 1\n"), {})
    processes: list[int] = []

    def every_process() -> int:
        processes[:] = runner.pids()
        processes.extend(child for pid in runner.pids() for child in descendants(pid))
        return len(processes)

    # Zygotes each have a child forked ahead of the next call.
    assert wait_until(lambda: every_process() == (4 if isolation == PROCESS else 2))
    runner.close()
    assert wait_until(lambda: not any(alive(pid) for pid in processes))


def test_close_during_a_call_ends_the_call_and_every_process(isolation: str) -> None:
    runner = WorkerRunner(
        "handler", lambda name: Limits(timeout_seconds=20), 1, isolation=isolation
    )
    thread, result = run_in_thread(runner, script(LONG, "long"))
    processes = [*runner.pids(), running_process(runner)]
    runner.close()
    thread.join(timeout=10)
    assert not thread.is_alive()
    problem = result["outcome"].problem
    assert problem is not None and problem.kind == "crash"
    assert wait_until(lambda: not any(alive(pid) for pid in processes))
    assert runner.pids() == []


def test_a_call_after_close_is_refused(pool: WorkerRunner) -> None:
    pool.close()
    with pytest.raises(EmulatorError) as caught:
        pool.run(script("def handler():\n    return 1\n"), {})
    assert caught.value.message == (
        "the emulator is shutting down; send the request again once it has restarted"
    )


def test_workers_get_a_small_environment_and_no_project_folder(
    monkeypatch: pytest.MonkeyPatch, isolation: str
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "do-not-leak")
    runner = WorkerRunner("handler", lambda name: SMALL, 1, isolation=isolation)
    try:
        (pid,) = runner.pids()
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        names = {entry.split(b"=")[0].decode() for entry in environ if entry}
        assert "SECRET_TOKEN" not in names
        assert names <= set(KEPT_ENVIRONMENT)
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
    finally:
        runner.close()


def test_default_size_follows_the_cpus_within_bounds() -> None:
    assert default_size() == max(2, min(os.cpu_count() or 2, 8))


def test_the_app_runs_functions_in_workers_by_default(
    project: Path, write_function: Any
) -> None:
    write_config(project, {"api_keys": [{"key": DEMO_KEY}], "limits": {"workers": 1}})
    write_function("pid", "def handler():\n    return 'ok'\n")
    app = create_app(config_module.load(project / "config.yaml"))
    try:
        assert isinstance(app.runner, WorkerRunner)
        assert app.runner.size == 1
        assert app.runner.isolation == WORKER
        script_ = app.registry.get("pid")
        assert script_ is not None
        assert app.runner.run(script_, {}).value == "ok"
    finally:
        app.close()
    assert app.runner.pids() == []


class Served(Server):
    """`python -m emulator serve` on a free port, called by function name."""

    def call(self, name: str) -> tuple[int, Any]:
        url = (
            f"{self.base}/crm/v2/functions/{name}/actions/execute"
            f"?auth_type=apikey&zapikey={DEMO_KEY}"
        )
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


@pytest.fixture
def served_project(project: Path, write_function: Any, isolation: str) -> Path:
    write_config(
        project,
        {
            "api_keys": [{"key": DEMO_KEY}],
            "limits": {"workers": 2, "isolation": isolation},
        },
    )
    write_function("slow", LONG)
    write_function("hello", "def handler():\n    return 'hi'\n")
    return project


@pytest.mark.parametrize(
    "sig",
    [
        pytest.param(signal.SIGTERM, id="sigterm"),
        pytest.param(signal.SIGINT, id="ctrl-c"),
        pytest.param(signal.SIGKILL, id="kill-9"),
    ],
)
def test_stopping_serve_leaves_no_worker_behind(
    served_project: Path, sig: int, isolation: str
) -> None:
    server = Served(served_project, "--timeout", "0.5")
    try:
        assert server.call("hello")[0] == 200
        # Two workers; zygotes each with a child forked ahead of the next call.
        processes = 4 if isolation == PROCESS else 2
        assert wait_until(lambda: len(descendants(server.process.pid)) == processes)
        workers = descendants(server.process.pid)
        server.process.send_signal(sig)
        server.process.wait(timeout=10)
        assert wait_until(lambda: not any(alive(pid) for pid in workers))
    finally:
        server.process.kill()
        server.process.wait()


def test_serve_timeout_overrides_the_configured_limit(
    served_project: Path, isolation: str
) -> None:
    (served_project / "config.yaml").write_text(
        textwrap.dedent(
            f"""
            api_keys: [{{key: "{DEMO_KEY}"}}]
            limits: {{workers: 2, timeout_seconds: 30, isolation: {isolation}}}
            functions: {{slow: {{timeout_seconds: 20}}}}
            """
        )
    )
    server = Served(served_project, "--timeout", "0.5")
    try:
        assert (
            "Limits per call: 0.5 s, 200000 statements, 512 MB, 2 workers"
            in "".join(server.banner)
        )
        status, body = server.call("slow")
        assert status == 500
        assert b'"code":"LIMIT_REACHED"' in body
        assert b'"limit":"timeout_seconds","value":0.5' in body
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def test_a_forked_server_process_starts_its_own_workers(isolation: str) -> None:
    """gunicorn --preload builds the app, then forks: the pool must not be shared."""
    runner = WorkerRunner("handler", lambda name: SMALL, 1, isolation=isolation)
    try:
        parents = runner.pids()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the forked server process
            code = 1
            try:
                value = runner.run(
                    script("def handler():\n    return 'own'\n"), {}
                ).value
                own = runner.pids()
                os.write(write, f"{value} {int(not set(own) & set(parents))}".encode())
                runner.close()
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        assert os.read(read, 100) == b"own 1"
        os.waitpid(pid, 0)
        assert (
            runner.run(script("def handler():\n    return 'parent'\n"), {}).value
            == "parent"
        )
        assert runner.pids() == parents
    finally:
        runner.close()


def test_a_zygote_whose_server_is_gone_ends_the_call_it_runs() -> None:
    """The server died mid-call (no close()): the zygote sees the end of its stdin."""
    worker = Worker(PROCESS)
    try:
        long_job = script(LONG, "long")
        job = Job(
            "long", long_job.display, long_job.version, long_job.source, "handler", {},
            Limits(timeout_seconds=20),
        )  # fmt: skip
        worker._wait_ready(job)
        write_all(worker.stdin.fileno(), job.to_line())
        assert wait_until(lambda: len(descendants(worker.pid)) == 1)
        (child,) = descendants(worker.pid)
        worker.stdin.close()
        assert wait_until(lambda: not alive(child) and not alive(worker.pid), 5)
    finally:
        worker.kill()


def test_a_long_lived_worker_whose_server_is_gone_ends_with_the_call() -> None:
    """No zygote watches the call: its timer ends it, then the worker finds its
    server gone and exits."""
    worker = Worker(WORKER)
    try:
        spin = script("def handler():\n    while True:\n        pass\n", "spin")
        job = Job("spin", spin.display, spin.version, spin.source, "handler", {},
                  Limits(timeout_seconds=0.5, statements=10**9))  # fmt: skip
        worker._wait_ready(job)
        write_all(worker.stdin.fileno(), job.to_line())
        worker.stdin.close()
        worker.stdout.close()
        assert wait_until(lambda: not alive(worker.pid), 10)
    finally:
        worker.kill()


def cpu_limit(pid: int) -> tuple[float, float]:
    """The CPU-time limit of a process (soft) and the CPU time it used, seconds."""
    limits = Path(f"/proc/{pid}/limits").read_text().splitlines()
    (line,) = [entry for entry in limits if entry.startswith("Max cpu time")]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return float(line.split()[3]), used


def test_a_long_lived_worker_has_a_cpu_time_backstop_for_each_call() -> None:
    """Code stuck in C outlives the worker's timer; if the server is gone too,
    the CPU-time limit ends it: at least the call's own share is left, and not
    much more (worker.CPU_SLACK)."""
    runner = WorkerRunner(
        "handler", lambda name: Limits(timeout_seconds=0.5), 1, isolation=WORKER
    )
    try:
        runner.run(script("def handler():\n    return 1\n"), {})
        soft, used = cpu_limit(runner.pids()[0])
        needed = cpu_seconds(Limits(timeout_seconds=0.5))
        assert used + needed <= soft <= used + needed + CPU_SLACK + 1
    finally:
        runner.close()


@pytest.mark.parametrize(
    ("source", "replaced"),
    [
        pytest.param(LONG, True, id="time-limit"),
        pytest.param(
            "def handler():\n    return len('x' * 10**9)\n", True, id="memory-limit"
        ),
        pytest.param(
            "def down(n):\n    return down(n + 1)\ndef handler():\n    return down(0)\n",
            True,
            id="recursion-limit",
        ),
        pytest.param(
            "def handler():\n    while True:\n        pass\n",
            False,
            id="statement-limit",
        ),
        pytest.param("def handler():\n    return 1 / 0\n", False, id="error"),
    ],
)
def test_a_long_lived_worker_is_replaced_after_limits_that_strike_anywhere(
    source: str, replaced: bool
) -> None:
    """A timer, MemoryError and RecursionError may stop library code halfway."""
    runner = WorkerRunner("handler", lambda name: SMALL, 1, isolation=WORKER)
    try:
        before = runner.pids()
        assert runner.run(script(source, "limit"), {}).problem is not None
        assert (runner.pids() != before) == replaced
        assert runner.run(script("def handler():\n    return 1\n"), {}).value == 1
    finally:
        runner.close()


def test_a_script_is_sent_once_and_again_when_the_worker_lacks_it(
    isolation: str,
) -> None:
    worker, lines = Worker(isolation), JobLines()
    try:
        hello = script("def handler():\n    return 'hi'\n", "hello")
        job = Job("hello", hello.display, hello.version, hello.source, "handler", {},
                  SMALL)  # fmt: skip
        assert worker.call(job, lines).value == "hi"
        assert worker.sent == {job.code_key}
        assert worker.call(job, lines).value == "hi"  # sent without its source
        other = script("def handler():\n    return 'other'\n", "other")
        unknown = Job("other", other.display, other.version, other.source, "handler",
                      {}, SMALL)  # fmt: skip
        worker.sent.add(unknown.code_key)  # as if the worker had evicted it
        assert worker.call(unknown, lines).value == "other"
    finally:
        worker.kill()


def test_the_most_recently_used_idle_worker_takes_the_next_call() -> None:
    """Under light load one worker stays warm and takes every call."""
    idle = IdleWorkers()
    first, second = object(), object()
    idle.put(first)  # type: ignore[arg-type]
    idle.put(second)  # type: ignore[arg-type]
    assert idle.get(timeout=1) is second
    idle.put(second)  # type: ignore[arg-type]
    assert idle.get(timeout=1) is second
    assert idle.get_nowait() is first
    with pytest.raises(queue.Empty):
        idle.get(timeout=0.01)


def test_a_worker_the_watchdog_killed_as_it_answered_is_replaced_and_the_answer_stands() -> (
    None
):
    runner = WorkerRunner("handler", lambda name: SMALL, 1, isolation=WORKER)
    try:
        quick = script("def handler():\n    return 'done'\n", "quick")
        assert runner.run(quick, {}).value == "done"
        (before,) = runner.pids()
        (worker,) = runner._all_workers()
        worker.overran = True  # as the watchdog marks it when the deadline passes
        assert runner.run(quick, {}).value == "done"
        assert wait_until(lambda: len(runner.pids()) == 1 and runner.pids() != [before])
        assert runner.run(quick, {}).value == "done"
    finally:
        runner.close()


def test_the_watchdog_stops_a_call_stuck_past_its_deadline() -> None:
    limits = Limits(timeout_seconds=0.2)
    runner = WorkerRunner("handler", lambda name: limits, 1, isolation=WORKER)
    try:
        stuck = script(
            "import re\ndef handler():\n    return re.match('(a+)+$', 'a' * 40 + 'b')\n",
            "stuck",
        )
        problem = runner.run(stuck, {}).problem
        assert problem is not None and problem.limit == "timeout_seconds"
        assert runner.run(script("def handler():\n    return 1\n"), {}).value == 1
    finally:
        runner.close()


ANSWERS = {
    "plain": "def handler():\n    return 'ok'\n",
    "data": "def handler(crmAPIRequest):\n    return {'params': crmAPIRequest['params']}\n",
    "informed": "def handler():\n    info('note')\n    print('printed')\n    return [1, 2]\n",
    "custom": "def handler():\n    return {'crmAPIResponse': {'status_code': 201, 'body': 'made'}}\n",
    "failing": "def handler():\n    return 1 / 0\n",
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_workers_answer_byte_for_byte_as_the_in_process_runner(
    project: Path, write_function: Any, isolation: str, name: str
) -> None:
    write_config(
        project,
        {
            "api_keys": [{"key": DEMO_KEY}],
            "limits": {"workers": 1, "isolation": isolation},
        },
    )
    write_function(name, ANSWERS[name])
    config = config_module.load(project / "config.yaml")
    url = f"/crm/v2/functions/{name}/actions/execute?auth_type=apikey&zapikey={DEMO_KEY}&a=1"
    answers = []
    for runner in (InProcessRunner.from_config(config), None):
        app = create_app(config, runner=runner)
        try:
            response = Client(app).get(url)
            answers.append(
                (
                    response.status_code,
                    response.get_data(),
                    sorted(response.headers.items()),
                )
            )
        finally:
            app.close()
    assert answers[0] == answers[1]
