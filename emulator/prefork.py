"""Several server processes on one listening socket (`serve --processes N`).

The parent binds the socket, forks N children and supervises them: a child
that dies is replaced; Ctrl-C or SIGTERM stops them all. Each child builds its
own app (own SQLite connections, own function workers) and accepts from the
shared socket, so the kernel spreads connections over the children. Keys,
tokens and history agree across children because they live in the SQLite
store, which every child opens itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType

Echo = Callable[[str], None]
RESTART_PAUSE = 0.5  # seconds between restarts of a crashing child, so it cannot spin
ORPHAN_CHECK = 0.5  # seconds between a child's checks that its supervisor lives


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    # Every process waits on this socket and all wake for one connection; with
    # a blocking socket, those that lose the race would then sit in accept()
    # until the next connection, deaf to a shutdown. Non-blocking, they go back
    # to waiting (socketserver ignores the failed accept).
    sock.setblocking(False)
    return sock


class Supervisor:
    """Keeps `processes` children running `child(slot)`; slot 0 is the one that
    prints what all would print alike (reload lines)."""

    def __init__(
        self, processes: int, child: Callable[[int], None], echo: Echo
    ) -> None:
        self.processes = processes
        self.child = child
        self.echo = echo
        self.children: dict[int, int] = {}  # pid -> slot
        self.stopping = False

    def run(self) -> None:
        previous = {
            s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for slot in range(self.processes):
                self._fork(slot)
            self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._terminate()

    def _fork(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            self._become_child(slot)
        self.children[pid] = slot

    def _become_child(self, slot: int) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_interrupt)
        _stop_when_orphaned(os.getppid())
        code = 0
        try:
            self.child(slot)
        except KeyboardInterrupt:
            pass
        # A child must never return into the parent's code, whatever happens.
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
            code = 1
        os._exit(code)

    def _supervise(self) -> None:
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            slot = self.children.pop(pid, None)
            if slot is not None and not self.stopping:
                self.echo(
                    f"server process {pid} exited ({_describe(status)}); starting another"
                )
                time.sleep(RESTART_PAUSE)
                self._fork(slot)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)

    def _terminate(self) -> None:
        deadline = time.monotonic() + 10
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)
        while self.children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
            self.children.pop(pid, None)
        for pid in self.children:
            _kill(pid, signal.SIGKILL)


def _stop_when_orphaned(parent: int) -> None:
    """A supervisor killed with SIGKILL cannot stop its children: each child
    watches for that itself and stops as SIGTERM would stop it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
