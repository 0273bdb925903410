"""Helpers of the operations fault tests: `amanat` as a real process against the Bot API stand-in.

The commands run exactly as a deployment runs them (``python -m bot …`` with the environment as its only
configuration); their stdout and stderr are captured to files so a test can read everything the process
ever printed (and assert what must never be in it).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from botapi_standin import BotApiStandIn

READY_TIMEOUT = 60.0  # a guard against hangs: a cold start imports, migrates and loads the index


def amanat_env(db_url: str, api: BotApiStandIn | None = None, **extra: str) -> dict[str, str]:
    """The environment of an `amanat` process: only what the test gives, no AMANAT_* from outside."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AMANAT_") and key != "TELEGRAM_BOT_TOKEN"
    }
    env["AMANAT_DATABASE__URL"] = db_url
    env["AMANAT_MATCHING__INTERVAL_SECONDS"] = "3600"
    env["AMANAT_TELEGRAM__POLL_TIMEOUT_SECONDS"] = "1"
    if api is not None:
        env["AMANAT_TELEGRAM__TOKEN"] = api.token
        env["AMANAT_TELEGRAM__BASE_URL"] = api.base_url
        env["AMANAT_TELEGRAM__BASE_FILE_URL"] = api.base_file_url
    env.update(extra)
    return env


@dataclass
class Process:
    """A started `amanat` command and the files its output goes to."""

    popen: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    def output(self) -> str:
        """Everything printed so far, stdout then stderr."""
        return "".join(
            path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            for path in (self.stdout_path, self.stderr_path)
        )

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    async def wait(self, timeout: float = READY_TIMEOUT) -> int:
        return await asyncio.to_thread(self.popen.wait, timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=30)


def start(args: list[str], env: dict[str, str], cwd: Path, name: str = "amanat") -> Process:
    out, err = cwd / f"{name}.out", cwd / f"{name}.err"
    popen = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=out.open("ab"),
        stderr=err.open("ab"),
    )
    return Process(popen, out, err)


async def wait_for_call(api: BotApiStandIn, method: str, after: int, process: Process) -> None:
    """Until the process has called `method` more than `after` times (it is up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    while len(api.calls_of(method)) <= after:
        assert process.popen.poll() is None, f"exited with {process.popen.returncode}:\n{process.output()}"
        assert loop.time() < deadline, f"never called {method}:\n{process.output()}"
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
