"""The pre-fork supervisor, run in a subprocess so forking never touches pytest."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from emulator.prefork import Supervisor

    folder = sys.argv[1]

    def child(slot):
        open(os.path.join(folder, str(os.getpid())), "w").close()
        while True:
            time.sleep(0.05)

    Supervisor(3, child, lambda text: print(text, flush=True)).run()
    print("supervisor done", flush=True)
    """
)


def pids(folder: Path) -> set[int]:
    return {int(p.name) for p in folder.iterdir()}


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose; it is reaped by the supervisor.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_children_are_started_replaced_and_stopped(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], env=env,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert wait_for(lambda: len(pids(tmp_path)) == 3)
        first = pids(tmp_path)
        victim = sorted(first)[0]
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: len(pids(tmp_path)) == 4), "a dead child is replaced"
        supervisor.send_signal(signal.SIGTERM)
        out, _ = supervisor.communicate(timeout=15)
    finally:
        supervisor.kill()
    assert (
        f"server process {victim} exited (killed by signal 9); starting another" in out
    )
    assert out.rstrip().endswith("supervisor done")
    assert not any(alive(pid) for pid in pids(tmp_path)), "no child is left behind"


def test_children_stop_when_the_supervisor_is_killed(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: len(pids(tmp_path)) == 3)
        supervisor.kill()  # SIGKILL: no chance to stop its children itself
        supervisor.wait()
        assert wait_for(lambda: not any(alive(pid) for pid in pids(tmp_path)))
    finally:
        for pid in pids(tmp_path):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
