"""`amanat` as a real process against the Bot API stand-in, for every test that starts one.

The commands run exactly as a deployment runs them (``python -m bot …`` with the environment as its only
configuration). :func:`start` captures stdout and stderr to files so a test can read everything the
process ever printed (and assert what must never be in it); :func:`start_bot` is `amanat run` with its
log in ``bot.log``; :func:`run` runs a command to its end.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from botapi_standin import BotApiStandIn, SentMessage, SimUser

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 90.0  # a guard against hangs: a cold start imports, migrates and loads the index


def amanat_env(db_url: str, api: BotApiStandIn | None = None, **extra: str) -> dict[str, str]:
    """The environment of an `amanat` process: only what the test gives, no AMANAT_* from outside."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AMANAT_") and key != "TELEGRAM_BOT_TOKEN"
    }
    env["PYTHONPATH"] = str(REPO)
    env["AMANAT_DATABASE__URL"] = db_url
    env["AMANAT_MATCHING__INTERVAL_SECONDS"] = "3600"
    env["AMANAT_TELEGRAM__POLL_TIMEOUT_SECONDS"] = "1"
    env["AMANAT_WEB__PORT"] = "0"  # no web server unless a test asks for one on a free port
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

    def last_line(self) -> str:
        """The last line on stderr (what an administrator reads), after checking there is no traceback."""
        stderr = self.stderr()
        assert "Traceback" not in stderr, stderr
        return stderr.strip().splitlines()[-1]

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


async def refused(args: list[str], env: dict[str, str], cwd: Path, name: str = "amanat") -> Process:
    """Start a command that must refuse to run: it exits with code 2 (a start-up check failed) by itself."""
    process = start(args, env, cwd, name)
    try:
        assert await process.wait() == 2, process.output()
    finally:
        process.stop()
    return process


async def run(
    args: list[str], env: dict[str, str], cwd: Path, guard: float | None = READY_TIMEOUT
) -> tuple[int, str, str]:
    """Run `python -m bot ARGS…` to its end (the stand-in answers on this event loop meanwhile).

    `guard` stops a hang (None: a long import may take what it takes); nothing is asserted about time.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=guard)
    return process.returncode or 0, out.decode(), err.decode()


def start_bot(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """`amanat run` as a deployment starts it, its log (stderr) appended to ``cwd / "bot.log"``."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=(cwd / "bot.log").open("ab"),
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


async def wait_for_call(
    api: BotApiStandIn, method: str, after: int, process: Process | subprocess.Popen[bytes]
) -> None:
    """Until the process has called `method` more than `after` times (it is up)."""
    popen = process.popen if isinstance(process, Process) else process
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    while len(api.calls_of(method)) <= after:
        printed = process.output() if isinstance(process, Process) else ""
        assert popen.poll() is None, f"exited with {popen.returncode}:\n{printed}"
        assert loop.time() < deadline, f"never called {method}:\n{printed}"
        await asyncio.sleep(0.05)


async def wait_for_webhook(
    api: BotApiStandIn, port: int, after: int, process: Process | subprocess.Popen[bytes]
) -> None:
    """Until the process has set its webhook and listens on `port` (PTB sets the webhook before it serves)."""
    await wait_for_call(api, "setWebhook", after, process)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            assert loop.time() < deadline, f"the webhook never listened on port {port}"
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def say(api: BotApiStandIn, user: SimUser, text: str) -> SentMessage:
    """The bot's one reply to `text` from `user`."""
    await api.send_text(user, text)
    [reply] = await api.wait_for_messages(user.id, timeout=20)
    return reply


async def press_first(api: BotApiStandIn, user: SimUser, message: SentMessage) -> SentMessage:
    """The bot's one reply to `user` pressing the first button of `message`."""
    await api.press(user, message, message.all_buttons()[0].text)
    [reply] = await api.wait_for_messages(user.id, timeout=20)
    return reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
