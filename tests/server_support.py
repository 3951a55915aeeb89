"""Start the real server (`python -m emulator serve`) on a free port, as a user does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Server:
    def __init__(self, project: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", "0", *args],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.banner: list[str] = []
        try:
            self.base = self._read_banner()
        except BaseException:
            self.process.kill()  # never leave a server behind a failed start
            self.process.wait()
            raise

    def _read_banner(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.banner.append(line)
            if line.startswith("A development tool"):
                break
        text = "".join(self.banner)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", text)
        assert match, text
        return f"http://127.0.0.1:{match.group(1)}"

    def call(
        self,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ):
        request = urllib.request.Request(
            self.base + path, data=data, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # read(), not communicate(): lines already read ahead into the file
        # object's buffer would be lost by communicate's direct reads.
        assert self.process.stdout is not None
        return "".join(self.banner) + self.process.stdout.read()
