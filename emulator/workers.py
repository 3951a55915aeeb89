"""The pool of worker processes that runs functions under Zoho's limits.

`WorkerRunner` implements the `Runner` interface: each call takes an idle
worker, sends it the job as one JSON line, and reads the outcome back as one
JSON line. How a worker runs calls is `limits.isolation` (see `worker`): each
in a fresh process forked ahead of time (`process`), or one after the other
in the worker itself, each from fresh state (`worker`). Whatever happens to
one call, the pool stays whole: a worker that stops answering or dies is
killed and replaced, and its caller gets a LIMIT_REACHED or
FUNCTION_EXECUTION_ERROR outcome; a long-lived worker is also replaced after
a call that reached its time, memory or recursion limit, which may have
stopped library code halfway.

Workers are started when the runner is made, in their own sessions (a Ctrl-C
in the terminal reaches the server only). `close()` kills every worker and
its children at once (SIGKILL to each process group); a worker whose server
dies without closing it sees the end of its stdin and exits.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import limits as limits_module
from .errors import EmulatorError
from .execution import GRACE_SECONDS
from .limits import PROCESS, WORKER, Limits
from .outcome import Outcome, Problem
from .protocol import (
    NEED_SOURCE,
    Job,
    JobLines,
    LineReader,
    LineTooLong,
    death,
    outcome_from_line,
    result_cap,
    write_all,
)
from .registry import Script
from .runner import LimitsFor, not_compiled

if TYPE_CHECKING:
    from .config import Config

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 30.0  # how long a new worker may take to say it is ready
# How many script versions a worker remembers having been sent; more and it
# forgets them all (a worker answers NEED_SOURCE for code it has evicted anyway).
SENT_KEPT = 1024
# How much longer than the zygote's own kill the server waits for an answer.
SERVER_MARGIN_SECONDS = 2.0
# How often the watchdog looks for a call past its deadline (seconds).
WATCH_SECONDS = 0.1
# Limits that may stop library code halfway (a timer, MemoryError and
# RecursionError strike anywhere): a long-lived worker is replaced after them.
RETIRING_LIMITS = frozenset({"timeout_seconds", "memory_mb", "recursion_depth"})


def default_size() -> int:
    """Workers by default: one per CPU, at least 2 (so a runaway function
    cannot hold up the rest), at most 8."""
    return max(2, min(os.cpu_count() or 2, 8))


# What a worker keeps of the server's environment: enough to start Python and
# for time zones and locales to behave, and nothing else (no tokens or keys
# that the server's shell may hold).
KEPT_ENVIRONMENT = ("PATH", "PYTHONPATH", "PYTHONHOME", "TZ", "TZDIR", "LANG", "LC_ALL",
                    "LC_CTYPE", "LC_TIME", "LC_NUMERIC")  # fmt: skip


def worker_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENVIRONMENT}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
    )
    return env


class WorkerLost(Exception):
    """The worker did not answer properly and must be replaced."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class Worker:
    """One worker process and its pipes, seen from the server."""

    def __init__(self, isolation: str = WORKER) -> None:
        self.isolation = isolation
        command = [sys.executable, "-m", "emulator.worker", "--isolation", isolation]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=worker_environment(),
            cwd="/",  # scripts arrive as text; the project folder is not needed
            start_new_session=True,
            close_fds=True,
        )
        self.stdin: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        self.stdout: IO[bytes] = self.process.stdout  # type: ignore[assignment]
        self.reader = LineReader(self.stdout.fileno())
        self.ready = False
        # Versions whose source this worker has been sent (it caches their code).
        self.sent: set[tuple[str, str, str]] = set()
        # When the running call must have answered (time.monotonic); inf when
        # idle. The runner's watchdog kills the worker once it passes.
        self.deadline = math.inf
        self.overran = False  # the watchdog killed it for passing its deadline
        # Held while the deadline is cleared and while the watchdog judges it:
        # a call that ends just as its deadline passes is either killed
        # (and marked overran) or cleared, never marked after being cleared.
        self.guard = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, job: Job, lines: JobLines) -> Outcome:
        """Run one job; raises WorkerLost if the worker must be replaced."""
        self._wait_ready(job)
        key = job.code_key
        line = self._exchange(job, lines.line(job, key not in self.sent))
        if line == NEED_SOURCE:
            line = self._exchange(job, lines.line(job, with_source=True))
        if len(self.sent) > SENT_KEPT:
            self.sent.clear()
        self.sent.add(key)
        return outcome_from_line(line)

    def _exchange(self, job: Job, line: bytes) -> bytes:
        """Send the job, return the answer line.

        The read blocks without a timeout of its own (one system call, not a
        select and a read, on the path of every call): the runner's watchdog
        kills a worker that passes its deadline, which ends the read.
        """
        # A zygote kills a child at the limit itself; a long-lived worker stuck
        # in C code is killed by us.
        margin = SERVER_MARGIN_SECONDS if self.isolation == PROCESS else 0.0
        self.deadline = (
            time.monotonic() + job.limits.timeout_seconds + GRACE_SECONDS + margin
        )
        try:
            write_all(self.stdin.fileno(), line)
            answer = self.reader.read_line(None, result_cap(job.limits))
        except LineTooLong as exc:
            raise WorkerLost(self._limit(job, "response_bytes")) from exc
        except OSError as exc:  # the worker is gone, or the pool is closing
            raise WorkerLost(self._lost(job)) from exc
        finally:
            with self.guard:
                self.deadline = math.inf
        if answer is None:
            raise WorkerLost(self._lost(job))
        return answer

    def _limit(self, job: Job, limit: str) -> Problem:
        value = getattr(job.limits, limit)
        return limits_module.problem(job.display, None, job.name, limit, value)

    def _lost(self, job: Job) -> Problem:
        if self.overran:
            return self._limit(job, "timeout_seconds")
        return self._death(job)

    def _wait_ready(self, job: Job) -> None:
        if self.ready:
            return
        try:
            line = self.reader.read_line(time.monotonic() + START_SECONDS, 1024)
        except TimeoutError:
            line = None
        if line is None or not line.startswith(b'{"ready"'):
            raise WorkerLost(
                Problem(
                    job.display,
                    None,
                    "a worker process did not start; the console shows why",
                    kind="crash",
                )
            )
        self.ready = True

    def _death(self, job: Job) -> Problem:
        try:
            code = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            code = -signal.SIGKILL
        return death(job.display, job.name, job.limits, code)

    def kill(self, close_pipes: bool = True) -> None:
        """SIGKILL the worker and its children (one process group).

        A worker busy with a call keeps its pipes open: the calling thread
        reads the end of file and closes them itself (closing a pipe another
        thread is reading could hand its number to an unrelated file).
        """
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if close_pipes:
            for pipe in (self.stdin, self.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()


class Watchdog:
    """Kills the workers of a runner whose call passed its deadline.

    It looks every WATCH_SECONDS rather than being told of each call: a
    call then costs the watchdog nothing, and a kill comes at most
    WATCH_SECONDS late (after a grace the worker's own timer already had).
    """

    def __init__(self, workers: Callable[[], list[Worker]]) -> None:
        self._workers = workers
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="worker-watchdog", daemon=True
        )
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            now = time.monotonic()
            for worker in self._workers():
                with worker.guard:
                    if worker.deadline < now:
                        worker.overran = True
                        worker.kill(close_pipes=False)

    def stop(self) -> None:
        self._stop.set()


class IdleWorkers:
    """Workers waiting for a call, the most recently used first: under light
    load one worker takes every call and stays warm (its memory in the CPU's
    caches, its CPU not yet asleep), the others wait."""

    def __init__(self) -> None:
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()  # one per worker
        self._stack: collections.deque[Worker] = collections.deque()

    def put(self, worker: Worker) -> None:
        self._stack.append(worker)
        self._tokens.put(None)

    def get(self, timeout: float) -> Worker:
        """An idle worker; raises queue.Empty after `timeout` seconds without one."""
        self._tokens.get(timeout=timeout)
        return self._stack.pop()

    def get_nowait(self) -> Worker:
        self._tokens.get_nowait()
        return self._stack.pop()


class WorkerRunner:
    """Runs functions in a pool of `size` worker processes."""

    def __init__(
        self,
        entry_point: str,
        limits_for: LimitsFor | None = None,
        size: int | None = None,
        *,
        isolation: str = WORKER,
    ) -> None:
        self.entry_point = entry_point
        self.limits_for = limits_for or (lambda name: Limits())
        self.size = size or default_size()
        self.isolation = isolation
        self._idle = IdleWorkers()
        self._limits: dict[str, Limits] = {}  # by function: the config does not change
        self._lines = JobLines()
        self._workers: set[Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._busy = 0
        self._owner = os.getpid()
        self._watchdog = Watchdog(self._all_workers)
        for _ in range(self.size):
            self._start()

    @classmethod
    def from_config(cls, config: Config, **options: Any) -> WorkerRunner:
        options.setdefault("size", config.limits.workers)
        options.setdefault("isolation", config.limits.isolation)
        return cls(
            config.entry_point,
            lambda name: limits_module.for_function(config, name),
            **options,
        )

    def _all_workers(self) -> list[Worker]:
        with self._lock:
            return list(self._workers)

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(w.pid for w in self._workers)

    def busy(self) -> int:
        """How many workers are running a call now."""
        with self._lock:
            return self._busy

    def run(
        self, script: Script, kwargs: dict[str, Any], user_id: str | None = None
    ) -> Outcome:
        if script.compiled.code is None:
            return not_compiled(script)
        job = Job(
            name=script.name,
            display=script.display,
            version=script.version,
            source=script.source,
            entry_point=self.entry_point,
            kwargs=kwargs,
            limits=self._limits_of(script.name),
            user_id=user_id,
        )
        if os.getpid() != self._owner:
            self._adopt()
        worker = self._take()
        self._count_busy(+1)
        try:
            outcome = worker.call(job, self._lines)
        except WorkerLost as lost:
            self._replace(worker)
            return Outcome(None, (), (), 0.0, lost.problem)
        finally:
            self._count_busy(-1)
        # Killed by the watchdog just after it answered: the answer stands.
        if worker.overran or (self.isolation == WORKER and _retires(outcome)):
            self._replace(worker)
        else:
            self._idle.put(worker)
        return outcome

    def _limits_of(self, name: str) -> Limits:
        limits = self._limits.get(name)
        if limits is None:
            limits = self._limits[name] = self.limits_for(name)
        return limits

    def _adopt(self) -> None:
        """This process was forked from the one that started the workers (a
        server that loads the app before forking, such as gunicorn --preload):
        those workers are the parent's; start our own."""
        with self._lock:
            if os.getpid() == self._owner:
                return
            self._owner = os.getpid()
            self._workers = set()
            self._idle = IdleWorkers()
            self._busy = 0
            # Threads do not survive a fork: this process needs its own.
            self._watchdog = Watchdog(self._all_workers)
        for _ in range(self.size):
            self._start()

    def _count_busy(self, change: int) -> None:
        with self._lock:
            self._busy += change

    def _take(self) -> Worker:
        while True:
            if self._closed:
                raise EmulatorError(
                    "the emulator is shutting down; send the request again once "
                    "it has restarted"
                )
            try:
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _start(self) -> None:
        if self._closed:
            return
        worker = Worker(self.isolation)
        with self._lock:
            closed = self._closed
            if not closed:
                self._workers.add(worker)
        if closed:
            worker.kill()
            return
        self._idle.put(worker)

    def _replace(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
        self._start()

    def close(self) -> None:
        """Kill every worker and its children; idempotent. A call in flight
        ends with a crash outcome."""
        with self._lock:
            self._closed = True
            self._watchdog.stop()
            workers = list(self._workers)
            self._workers.clear()
        idle = set()
        with contextlib.suppress(queue.Empty):
            while True:
                idle.add(self._idle.get_nowait())
        for worker in workers:
            worker.kill(close_pipes=worker in idle)


def _retires(outcome: Outcome) -> bool:
    problem = outcome.problem
    return problem is not None and problem.limit in RETIRING_LIMITS
