"""Running one job in this process, under its limits: what both kinds of
worker (`worker` and `zygote`) share.

`execute` runs a job's function with its statement counter and its wall-time
`Timer`; `CodeCache` keeps compiled code by script version, so a saved file is
compiled on its first call and never again.
"""

from __future__ import annotations

import math
import resource
import signal
import sys
import time
from collections import OrderedDict
from types import CodeType, FrameType

from . import sandbox
from .counting import Counter
from .limits import LimitHit, Limits
from .limits import problem as limit_problem
from .outcome import Outcome, Problem
from .protocol import Job, outcome_line

# The wall-time limit: how long after its timer code stuck in C is killed.
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
        return self.entries.get(job.code_key)

    def lacks(self, job: Job) -> bool:
        """A job without source for code this cache does not have."""
        return job.source is None and job.code_key not in self.entries

    def compiled(self, job: Job) -> CodeType | Problem:
        """The job's code, compiled now (and kept) if need be."""
        code = self.get(job)
        if code is not None:
            self.entries.move_to_end(job.code_key)
            return code
        if job.source is None:
            return Problem(job.display, None, "the worker lost the script's code")
        result = sandbox.compile_script(job.source, job.display, job.entry_point)
        if result.code is None:
            return result.problems[0]
        self.entries[job.code_key] = result.code
        while len(self.entries) > CACHE_SIZE:
            self.entries.popitem(last=False)
        return result.code

    def learn(self, job: Job) -> None:
        """Have the job's code from now on (a zygote: for the children it forks)."""
        self.compiled(job)


class Timer:
    """The wall-time limit of the call running in this process.

    One SIGALRM handler for the life of the process. The timer is armed
    lazily: a call whose deadline is not earlier than the one armed leaves it
    as it is, and a call that ends does not disarm it. When it fires, the
    handler looks at the running call's own deadline: reached, the call's
    counter raises LimitHit now and at every later statement; not yet, the
    timer is armed again for the rest; no call running, it stays unarmed.
    Back to back calls then arm it about once per time limit, not twice per
    call (two system calls that cost more than a trivial function).
    """

    def __init__(self) -> None:
        self.counter: Counter | None = None
        self.seconds = 0.0
        self.deadline = math.inf  # of the running call (time.monotonic)
        self.armed = math.inf  # when the armed timer fires; inf: not armed
        signal.signal(signal.SIGALRM, self._fired)

    def _fired(self, signum: int, frame: FrameType | None) -> None:
        self.armed = math.inf
        counter = self.counter
        if counter is None:
            return
        left = self.deadline - time.monotonic()
        if left > 0:
            self._arm(left)
            return
        counter.expire("timeout_seconds", self.seconds)

    def _arm(self, seconds: float) -> None:
        self.armed = time.monotonic() + seconds
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def start(self, counter: Counter, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.counter = counter  # last: the handler reads the deadline first
        if self.armed > self.deadline:
            self._arm(seconds)

    def stop(self) -> None:
        self.counter = None


def execute(job: Job, cache: CodeCache, timer: Timer) -> Outcome:
    """Run one job here, under its statement and time limits."""
    code = cache.compiled(job)
    if isinstance(code, Problem):
        return Outcome(None, (), (), 0.0, code)
    counter = Counter(job.limits.statements)
    started = time.perf_counter()
    try:
        timer.start(counter, job.limits.timeout_seconds)
        try:
            outcome = sandbox.run(
                code,
                job.display,
                job.entry_point,
                job.kwargs,
                job.limits,
                function=job.name,
                counter=counter,
            )
        finally:
            timer.stop()
    except LimitHit as hit:  # the timer fired outside the sandbox's own boundary
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        problem = limit_problem(job.display, None, job.name, hit.limit, hit.value)
        outcome = Outcome(None, (), (), elapsed, problem, counter.executed())
    counter.stop()
    return outcome


def confine_process() -> None:
    """The limits of a process that runs function code, whatever the call:
    no files written, no core dumps, no processes started, bounded recursion."""
    for limit in (resource.RLIMIT_FSIZE, resource.RLIMIT_CORE, resource.RLIMIT_NPROC):
        resource.setrlimit(limit, (0, 0))
    sys.setrecursionlimit(RECURSION_LIMIT)


def cpu_seconds(limits: Limits) -> int:
    """CPU time a call may use: a backstop above the wall-time limit, so that a
    call cannot outlive its limit even if the server is gone."""
    return math.ceil(limits.timeout_seconds + GRACE_SECONDS) + 1


# A job run before the first real one: reading a job, running a function and
# writing an outcome touch lazily built objects and (in a forked child) memory
# pages shared with the zygote; doing that ahead takes the cost off the call.
WARM_UP = Job(
    name="warm_up",
    display="<warm-up>",
    version="warm-up",
    source='import json\ndef handler(x):\n    info("x")\n    return json.dumps([x, "y"])\n',
    entry_point="handler",
    kwargs={"x": {"a": [1, 2.5, None, True]}},
    limits=Limits(),
)


def warm_up(cache: CodeCache, timer: Timer) -> None:
    job = Job.from_line(WARM_UP.to_line())
    outcome_line(execute(job, cache, timer))


def memory_line(job: Job) -> bytes:
    problem = limit_problem(
        job.display, None, job.name, "memory_mb", job.limits.memory_mb
    )
    return outcome_line(Outcome(None, (), (), 0.0, problem))
