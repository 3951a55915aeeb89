"""`limits.isolation: process`: every call in a fresh process forked ahead of time.

The worker is a zygote. It has imported everything, keeps one child forked
ahead of time, hands each job to that child, and forks the next child when the
job is done. The child sets its resource limits, runs the function once and
exits, so nothing a call changes (module state included) outlives it. The
zygote enforces the wall-time limit with SIGKILL, sees how a child died, and
caches compiled code by script version, so children forked after a call
inherit it. While it waits for its job, the spare child warms up: the copying
of memory pages a fresh process pays for happens before the call, not in it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import signal
import time

from .execution import (
    GRACE_SECONDS,
    JOB_CAP,
    WARM_UP,
    CodeCache,
    Timer,
    confine_process,
    cpu_seconds,
    execute,
    warm_up,
)
from .limits import MB, Limits
from .limits import problem as limit_problem
from .outcome import Outcome
from .protocol import (
    EXIT_OUT_OF_MEMORY,
    NEED_SOURCE,
    Heads,
    Job,
    LineReader,
    LineTooLong,
    answer_line,
    death,
    dumps,
    outcome_line,
    result_cap,
    write_all,
)


def confine(limits: Limits) -> None:
    """The resource limits of the child running one call."""
    memory = limits.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = cpu_seconds(limits)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    confine_process()


def run_child(job_fd: int, result_fd: int, cache: CodeCache) -> int:
    """The forked child: one job, then exit. Returns the exit code."""
    reader = LineReader(job_fd)
    timer = Timer()
    if not reader.wait(0):  # no job waiting yet: use the time
        warm_up(cache, timer)
    line = reader.read_line(None, JOB_CAP)
    if line is None:
        return 0
    job = Job.from_line(line)
    confine(job.limits)
    reserve = bytearray(MB)  # freed to report running out of memory
    try:
        outcome = execute(job, cache, timer)
    except MemoryError:
        del reserve
        return EXIT_OUT_OF_MEMORY
    try:
        write_all(result_fd, answer_line(outcome, job))
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
    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.server = LineReader(in_fd)
        self.out_fd = out_fd
        self.cache = CodeCache()
        self.heads = Heads()
        self.spare: Child | None = None
        self.exiting: list[Child] = []  # answered, reaped when they are gone

    def serve(self) -> None:
        self.cache.learn(WARM_UP)
        # What exists now (the modules, the catalog) is never collected: the
        # children's garbage collector then does not touch, and so copy, the
        # pages it lives on.
        gc.collect()
        gc.freeze()
        self.spare = self.fork()
        write_all(self.out_fd, dumps({"ready": os.getpid()}))
        try:
            while True:
                line = self.next_job()
                if line is None:
                    return
                job = Job.from_line(line, self.heads)
                if self.cache.lacks(job):  # the spare child lacks it too
                    write_all(self.out_fd, NEED_SOURCE + b"\n")
                    continue
                self.run_forked(job, line)
                self.cache.learn(job)  # before the next fork, so the child has it
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
