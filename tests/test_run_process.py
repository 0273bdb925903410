"""`amanat run` as a real process against the Bot API stand-in: kill -9 mid-dialogue, SIGTERM, webhook.

These start the production entry point (`python -m bot run`) exactly as a deployment would, with the
Bot API base URL pointing at the stand-in, and talk to it as a relative does.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from botapi_standin import BotApiStandIn
from tests.amanat_process import (
    amanat_env,
    free_port,
    press_first,
    say,
    start_bot,
    stop,
    wait_for_call,
    wait_for_webhook,
)


async def test_kill_9_mid_dialogue_then_restart_continues_at_the_same_step(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    env = amanat_env(f"sqlite:///{tmp_path / 'amanat.db'}", api)
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
    process = start_bot(amanat_env(f"sqlite:///{tmp_path / 'amanat.db'}", api), tmp_path)
    try:
        await wait_for_call(api, "getUpdates", 0, process)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        stop(process)
    log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log
    assert api.token not in log  # the token is in every Bot API URL; it must never reach the logs


async def test_webhook_mode_answers_updates_telegram_posts(api: BotApiStandIn, tmp_path: Path) -> None:
    port = free_port()
    env = amanat_env(
        f"sqlite:///{tmp_path / 'amanat.db'}",
        api,
        AMANAT_TELEGRAM__WEBHOOK_URL="https://amanat.example.org/telegram-hook",
        AMANAT_TELEGRAM__WEBHOOK_LISTEN="127.0.0.1",
        AMANAT_TELEGRAM__WEBHOOK_PORT=str(port),
        AMANAT_TELEGRAM__WEBHOOK_SECRET="s3cret-value-for-the-hook",
    )
    api.webhook_target = f"http://127.0.0.1:{port}/telegram-hook"  # the reverse proxy's forward
    process = start_bot(env, tmp_path)
    try:
        await wait_for_webhook(api, port, 0, process)
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
