"""The worker process: `python -m emulator.worker [--isolation process|worker]`.

It reads jobs (JSON lines) on stdin and writes outcomes (JSON lines) on the
stdout it was given; what the process itself might print goes to /dev/null.
Two ways to run jobs (`limits.isolation`; docs/sandbox.md compares them):

- `worker` (`LongLived`, here): this process runs job after job itself, each
  from fresh globals, a fresh copy of the request and fresh module state (the
  importer of each call builds its own random, calendar and decimal objects;
  the guards hand out read-only copies of library classes' containers). Its
  timer stops Python code at the wall-time limit; code stuck in C is killed
  by the server, which replaces the worker after any call that reached the
  time, memory or recursion limit.
- `process` (`zygote.Zygote`): every job runs in a fresh process forked ahead
  of time, which exits after it.
"""

from __future__ import annotations

import gc
import locale
import math
import os
import resource
import signal
import sys
import time

from .execution import (
    JOB_CAP,
    WARM_UP,
    CodeCache,
    Timer,
    confine_process,
    cpu_seconds,
    execute,
    memory_line,
    warm_up,
)
from .limits import MB, WORKER, Limits
from .protocol import (
    NEED_SOURCE,
    Heads,
    Job,
    LineReader,
    answer_line,
    dumps,
    write_all,
)
from .zygote import Zygote

# How long a CPU-time limit set for one call serves the next ones (seconds).
CPU_SLACK = 1.0


def _ignore_unraisable(unraisable: object) -> None:
    """Code of a finished call that the garbage collector finalizes later stops
    at its first statement (Counter.stop); that is no news for the console."""


class LongLived:
    """`limits.isolation: worker`: run every job in this process."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.server = LineReader(in_fd)
        self.out_fd = out_fd
        self.cache = CodeCache()
        self.heads = Heads()
        self.timer = Timer()
        self.memory_mb = 0
        self.cpu_set_at = -math.inf  # time.monotonic() when the CPU limit was set
        self.cpu_set_for = 0  # the cpu_seconds it was set for
        self.locale = locale.setlocale(locale.LC_ALL, None)

    def serve(self) -> None:
        confine_process()
        sys.unraisablehook = _ignore_unraisable
        self.cache.learn(WARM_UP)
        warm_up(self.cache, self.timer)
        gc.collect()
        gc.freeze()  # what exists now is never collected: less work per collection
        write_all(self.out_fd, dumps({"ready": os.getpid()}))
        reserve = bytearray(MB)  # freed to report running out of memory
        while True:
            line = self.server.read_line(None, JOB_CAP)
            if line is None:
                return
            job = Job.from_line(line, self.heads)
            if self.cache.lacks(job):
                write_all(self.out_fd, NEED_SOURCE + b"\n")
                continue
            try:
                self.confine(job.limits)
                answer = answer_line(execute(job, self.cache, self.timer), job)
            except MemoryError:
                del reserve
                write_all(self.out_fd, memory_line(job))
                return  # the server replaces a worker that ran out of memory
            try:
                write_all(self.out_fd, answer)
            except BrokenPipeError:
                return
            self.reset()

    def confine(self, limits: Limits) -> None:
        """The memory limit of this call, and a CPU-time backstop: this call may
        use at least cpu_seconds(limits) more CPU time, and not much more."""
        if limits.memory_mb != self.memory_mb:
            memory = limits.memory_mb * MB
            resource.setrlimit(resource.RLIMIT_AS, (memory, resource.RLIM_INFINITY))
            self.memory_mb = limits.memory_mb
        needed = cpu_seconds(limits)
        # One thread: the CPU time used since the limit was set is at most the
        # wall time since, so within CPU_SLACK of setting it the headroom left
        # is still at least `needed`, and it need not be set again.
        since = time.monotonic() - self.cpu_set_at
        if needed == self.cpu_set_for and since <= CPU_SLACK:
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = math.ceil(usage.ru_utime + usage.ru_stime + CPU_SLACK) + needed
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, resource.RLIM_INFINITY))
        self.cpu_set_at, self.cpu_set_for = time.monotonic(), needed

    def reset(self) -> None:
        """Process state a call can change through an allowed module, put back:
        the locale (calendar.different_locale changes it while it is entered)."""
        if locale.setlocale(locale.LC_ALL, None) != self.locale:
            locale.setlocale(locale.LC_ALL, self.locale)


def main(argv: list[str]) -> int:
    # The protocol gets its own copy of stdout; fd 1 itself goes to /dev/null,
    # so nothing the process prints can corrupt the protocol.
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    isolation = argv[argv.index("--isolation") + 1] if "--isolation" in argv else ""
    if isolation == WORKER:
        LongLived(0, out_fd).serve()
    else:
        Zygote(0, out_fd).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
