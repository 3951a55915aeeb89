"""The worker process: `python -m emulator.worker [--reuse]`.

It reads jobs (JSON lines) on stdin and writes outcomes (JSON lines) on the
stdout it was given; what the process itself might print goes to /dev/null.

Default design, one fresh process per call: the worker is a zygote. It has
imported everything, keeps one child forked ahead of time, hands each job to
that child, and forks the next child when the job is done. The child sets its
resource limits, runs the function once and exits, so nothing a call changes
(module state included) outlives it. The zygote enforces the wall-time limit
with SIGKILL, sees how a child died, and caches compiled code by script
version, so children forked after a call inherit it.

`--reuse` (for the benchmark's comparison only): the worker runs every job
itself, from fresh globals; the server kills it when a job overruns.
docs/sandbox.md has the measurements that chose the first design.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import resource
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType

from . import sandbox
from .counting import Counter
from .limits import MB, LimitHit, Limits
from .limits import problem as limit_problem
from .outcome import Outcome, Problem
from .protocol import (
    EXIT_OUT_OF_MEMORY,
    Job,
    LineReader,
    LineTooLong,
    death,
    dumps,
    outcome_line,
    result_cap,
    write_all,
)

# The zygote kills a child this long after its soft timer should have stopped it.
GRACE_SECONDS = 0.5
RECURSION_LIMIT = 1000
CACHE_SIZE = 64
# Jobs come from the server, which is trusted; this only bounds a broken line.
JOB_CAP = 1 << 31


class CodeCache:
    """Compiled code by (file, version, entry point), most recent 64."""

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple[str, str, str], CodeType] = OrderedDict()

    def get(self, job: Job) -> CodeType | None:
        return self.entries.get((job.display, job.version, job.entry_point))

    def compiled(self, job: Job) -> CodeType | Problem:
        code = self.get(job)
        if code is not None:
            return code
        result = sandbox.compile_script(job.source, job.display, job.entry_point)
        if result.code is None:
            return result.problems[0]
        return result.code

    def learn(self, job: Job) -> None:
        key = (job.display, job.version, job.entry_point)
        if key in self.entries:
            self.entries.move_to_end(key)
            return
        code = self.compiled(job)
        if isinstance(code, CodeType):
            self.entries[key] = code
            while len(self.entries) > CACHE_SIZE:
                self.entries.popitem(last=False)


@contextmanager
def alarm(seconds: float, counter: Counter) -> Iterator[None]:
    """Stop the run at `seconds` of wall time: the counter raises LimitHit now
    and at every later statement."""

    def expire(signum: int, frame: object) -> None:
        counter.expire("timeout_seconds", seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def execute(job: Job, cache: CodeCache) -> Outcome:
    """Run one job here, under its statement and time limits."""
    code = cache.compiled(job)
    if isinstance(code, Problem):
        return Outcome(None, (), (), 0.0, code)
    counter = Counter(job.limits.statements)
    started = time.perf_counter()
    try:
        with alarm(job.limits.timeout_seconds, counter):
            return sandbox.run(
                code,
                job.display,
                job.entry_point,
                job.kwargs,
                job.limits,
                function=job.name,
                counter=counter,
            )
    except LimitHit as hit:  # the timer fired outside the sandbox's own boundary
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        problem = limit_problem(job.display, None, job.name, hit.limit, hit.value)
        return Outcome(None, (), (), elapsed, problem, counter.executed())


def confine(limits: Limits) -> None:
    """The resource limits of a process that runs function code."""
    memory = limits.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(limits.timeout_seconds + GRACE_SECONDS) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    for limit in (resource.RLIMIT_FSIZE, resource.RLIMIT_CORE, resource.RLIMIT_NPROC):
        resource.setrlimit(limit, (0, 0))
    sys.setrecursionlimit(RECURSION_LIMIT)


# A job the child runs while it waits for its real one: reading a job, running
# a function and writing an outcome touch memory pages shared with the zygote,
# and the first write to each copies it; doing that ahead of the call takes
# most of the cost of a fresh process off the call (docs/sandbox.md, figures).
WARM_UP = Job(
    name="warm_up",
    display="<warm-up>",
    version="warm-up",
    source='import json\ndef handler(x):\n    info("x")\n    return json.dumps([x, "y"])\n',
    entry_point="handler",
    kwargs={"x": {"a": [1, 2.5, None, True]}},
    limits=Limits(),
)


def warm_up(cache: CodeCache) -> None:
    job = Job.from_line(WARM_UP.to_line())
    outcome_line(execute(job, cache))


def run_child(job_fd: int, result_fd: int, cache: CodeCache) -> int:
    """The forked child: one job, then exit. Returns the exit code."""
    reader = LineReader(job_fd)
    if not reader.wait(0):  # no job waiting yet: use the time
        warm_up(cache)
    line = reader.read_line(None, JOB_CAP)
    if line is None:
        return 0
    job = Job.from_line(line)
    confine(job.limits)
    reserve = bytearray(MB)  # freed to report running out of memory
    try:
        outcome = execute(job, cache)
    except MemoryError:
        del reserve
        return EXIT_OUT_OF_MEMORY
    try:
        write_all(result_fd, outcome_line(outcome))
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    return 0


class Child:
    """A forked child waiting for its job, seen from the zygote."""

    def __init__(self, cache: CodeCache, server_fds: tuple[int, int]) -> None:
        job_read, self.job_fd = os.pipe()
        self.result_fd, result_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child
            code = 70
            try:
                for fd in (*server_fds, self.job_fd, self.result_fd):
                    os.close(fd)
                code = run_child(job_read, result_write, cache)
            finally:
                os._exit(code)
        os.close(job_read)
        os.close(result_write)
        self.reader = LineReader(self.result_fd)

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            return

    def close(self) -> None:
        os.close(self.job_fd)
        os.close(self.result_fd)

    def reap(self, block: bool = True) -> int | None:
        """The child's exit code (Popen-style: negative for a signal); None if
        it is still running and `block` is false."""
        pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        return os.waitstatus_to_exitcode(status) if pid else None


class ServerGone(Exception):
    """The server closed our stdin: time to go."""


class Zygote:
    def __init__(self, in_fd: int, out_fd: int, reuse: bool) -> None:
        self.server = LineReader(in_fd)
        self.out_fd = out_fd
        self.reuse = reuse
        self.cache = CodeCache()
        self.spare: Child | None = None
        self.exiting: list[Child] = []  # answered, reaped when they are gone

    def serve(self) -> None:
        self.cache.learn(WARM_UP)
        # What exists now (the modules, the catalog) is never collected: the
        # children's garbage collector then does not touch, and so copy, the
        # pages it lives on.
        gc.collect()
        gc.freeze()
        if not self.reuse:
            self.spare = self.fork()
        write_all(self.out_fd, dumps({"ready": os.getpid()}))
        try:
            while True:
                line = self.next_job()
                if line is None:
                    return
                job = Job.from_line(line)
                if self.reuse:
                    write_all(self.out_fd, self.run_here(job))
                else:
                    self.run_forked(job, line)
                self.cache.learn(job)  # before the next fork, so the child has it
                if not self.reuse:
                    self.spare = self.fork()
        except (ServerGone, BrokenPipeError):
            return
        finally:
            if self.spare is not None:
                self.spare.kill()
                self.spare.close()
                self.exiting.append(self.spare)
            for child in self.exiting:
                child.reap()

    def next_job(self) -> bytes | None:
        """The next job line (None: the server is gone); children that have
        answered are reaped meanwhile, as they finish exiting."""
        while self.exiting:
            self.exiting = [c for c in self.exiting if c.reap(block=False) is None]
            try:
                return self.server.read_line(time.monotonic() + 0.01, JOB_CAP)
            except TimeoutError:
                continue
        return self.server.read_line(None, JOB_CAP)

    def run_here(self, job: Job) -> bytes:
        resource.setrlimit(
            resource.RLIMIT_AS, (job.limits.memory_mb * MB, resource.RLIM_INFINITY)
        )
        return outcome_line(execute(job, self.cache))

    def run_forked(self, job: Job, line: bytes) -> None:
        """Hand the job to the spare child; forward its result line as it came
        (reaping it after the server has the answer), or say how it died."""
        child = self.spare or self.fork()
        self.spare = None
        with contextlib.suppress(BrokenPipeError):  # it died waiting: reap says how
            write_all(child.job_fd, line + b"\n")
        try:
            result = self.wait(child, job)
        finally:
            child.close()
            self.exiting.append(child)
        if result is not None:
            write_all(self.out_fd, result)  # the child's exit is reaped later
            return
        self.exiting.remove(child)
        code = child.reap()
        assert code is not None
        problem = death(job.display, job.name, job.limits, code)
        write_all(self.out_fd, outcome_line(Outcome(None, (), (), 0.0, problem)))

    def fork(self) -> Child:
        return Child(self.cache, (self.server.fd, self.out_fd))

    def wait(self, child: Child, job: Job) -> bytes | None:
        """The child's result line; None if it died without one (reap says how)."""
        limits = job.limits
        deadline = time.monotonic() + limits.timeout_seconds + GRACE_SECONDS
        while True:
            if self.server.wait(0):
                try:
                    self.check_server()
                except ServerGone:
                    child.kill()
                    raise
            try:
                line = child.reader.read_line(
                    min(deadline, time.monotonic() + 0.2), result_cap(limits)
                )
            except TimeoutError:
                if time.monotonic() < deadline:
                    continue
                child.kill()
                return self.stopped(job, "timeout_seconds", limits.timeout_seconds)
            except LineTooLong:
                child.kill()
                return self.stopped(job, "response_bytes", limits.response_bytes)
            return None if line is None else line + b"\n"

    def check_server(self) -> None:
        """stdin is readable while a job runs: the server is gone (end of file)."""
        chunk = os.read(self.server.fd, 1 << 16)
        if not chunk:
            raise ServerGone
        self.server.buffer += chunk

    def stopped(self, job: Job, limit: str, value: float) -> bytes:
        problem = limit_problem(job.display, None, job.name, limit, value)
        return outcome_line(Outcome(None, (), (), 0.0, problem))


def main(argv: list[str]) -> int:
    # The protocol gets its own copy of stdout; fd 1 itself goes to /dev/null,
    # so nothing the process prints can corrupt the protocol.
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    Zygote(0, out_fd, reuse="--reuse" in argv).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
