"""`amanat run` as a real process against the Bot API stand-in: kill -9 mid-dialogue, SIGTERM, webhook.

These start the production entry point (`python -m bot run`) exactly as a deployment would, with the
Bot API base URL pointing at the stand-in, and talk to it as a relative does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from botapi_standin import BotApiStandIn, SentMessage, SimUser

READY_TIMEOUT = 60.0  # a cold start imports, migrates and loads the registry index; a guard against hangs


def bot_env(api: BotApiStandIn, db_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMANAT_")}
    env.update(
        {
            "AMANAT_DATABASE__URL": f"sqlite:///{db_path}",
            "AMANAT_TELEGRAM__TOKEN": api.token,
            "AMANAT_TELEGRAM__BASE_URL": api.base_url,
            "AMANAT_TELEGRAM__BASE_FILE_URL": api.base_file_url,
            "AMANAT_TELEGRAM__POLL_TIMEOUT_SECONDS": "1",
            "AMANAT_MATCHING__INTERVAL_SECONDS": "3600",
            **extra,
        }
    )
    return env


def start_bot(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=(cwd / "bot.log").open("ab"),
    )


async def wait_for_call(
    api: BotApiStandIn, method: str, after: int, process: subprocess.Popen[bytes]
) -> None:
    """Until the bot process has called `method` more than `after` times (it is up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    while len(api.calls_of(method)) <= after:
        assert process.poll() is None, f"the bot exited with {process.returncode}"
        assert loop.time() < deadline, f"the bot never called {method}"
        await asyncio.sleep(0.05)


async def say(api: BotApiStandIn, user: SimUser, text: str) -> SentMessage:
    await api.send_text(user, text)
    [reply] = await api.wait_for_messages(user.id, timeout=20)
    return reply


async def press_first(api: BotApiStandIn, user: SimUser, message: SentMessage) -> SentMessage:
    await api.press(user, message, message.all_buttons()[0].text)
    [reply] = await api.wait_for_messages(user.id, timeout=20)
    return reply


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


async def test_kill_9_mid_dialogue_then_restart_continues_at_the_same_step(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    env = bot_env(api, tmp_path / "amanat.db")
    relative = api.user(7001, "Мария", language_code="ru")
    first = start_bot(env, tmp_path)
    try:
        await wait_for_call(api, "getUpdates", 0, first)
        greeting = await say(api, relative, "/start")
        await press_first(api, relative, greeting)  # consent
        assert "1 из 6" in (await say(api, relative, "/search")).text
        asked_name = await say(api, relative, "Легкодымов")
        assert "2 из 6" in asked_name.text
        await api.wait_idle(timeout=20)  # the answer's update is confirmed, as in a real crash after a reply
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        stop(first)

    polls_before = len(api.calls_of("getUpdates"))
    second = start_bot(env, tmp_path)
    try:
        await wait_for_call(api, "getUpdates", polls_before, second)
        next_question = await say(api, relative, "Емельян")
        assert "3 из 6" in next_question.text  # the name was taken as the name: the step survived the crash
    finally:
        stop(second)


async def test_sigterm_is_a_clean_stop(api: BotApiStandIn, tmp_path: Path) -> None:
    process = start_bot(bot_env(api, tmp_path / "amanat.db"), tmp_path)
    try:
        await wait_for_call(api, "getUpdates", 0, process)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        stop(process)
    log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log
    assert api.token not in log  # the token is in every Bot API URL; it must never reach the logs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_answers_updates_telegram_posts(api: BotApiStandIn, tmp_path: Path) -> None:
    port = free_port()
    env = bot_env(
        api,
        tmp_path / "amanat.db",
        AMANAT_TELEGRAM__WEBHOOK_URL="https://amanat.example.org/telegram-hook",
        AMANAT_TELEGRAM__WEBHOOK_LISTEN="127.0.0.1",
        AMANAT_TELEGRAM__WEBHOOK_PORT=str(port),
        AMANAT_TELEGRAM__WEBHOOK_SECRET="s3cret-value-for-the-hook",
    )
    api.webhook_target = f"http://127.0.0.1:{port}/telegram-hook"  # the reverse proxy's forward
    process = start_bot(env, tmp_path)
    try:
        await wait_for_call(api, "setWebhook", 0, process)
        [set_webhook] = api.calls_of("setWebhook")
        assert set_webhook.params["url"] == "https://amanat.example.org/telegram-hook"
        assert not api.calls_of("getUpdates")
        relative = api.user(7002, "Aigerim", language_code="kk")
        greeting = await say(api, relative, "/start")
        assert "Аманат" in greeting.text
    finally:
        stop(process)
    assert "s3cret-value-for-the-hook" not in (tmp_path / "bot.log").read_text(
        encoding="utf-8", errors="replace"
    )
