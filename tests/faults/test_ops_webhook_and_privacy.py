"""`amanat run` as a real process: a webhook never runs without its secret and answers no forged update;
at DEBUG, the logs hold no names, usernames or message texts (ids only), and no secret."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from botapi_standin import BotApiStandIn, SentMessage, SimUser
from tests.amanat_process import (
    Process,
    amanat_env,
    free_port,
    refused,
    start,
    wait_for_call,
    wait_for_webhook,
)

ADMIN_ID = 4242
SECRET = "hook-secret-Zq81xV0pLm"
HOOK_PATH = "/telegram-hook"


def forged_stats_update(update_id: int, first_name: str) -> dict[str, Any]:
    """An update that claims to come from the administrator: /stats in their private chat."""
    person = {"id": ADMIN_ID, "is_bot": False, "first_name": first_name, "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": ADMIN_ID, "type": "private", "first_name": first_name},
            "from": person,
            "text": "/stats",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def post(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        return response.status


async def say(api: BotApiStandIn, user: SimUser, text: str) -> SentMessage:
    await api.send_text(user, text)
    [reply] = await api.wait_for_messages(user.id, timeout=20)
    return reply


async def stop_cleanly(process: Process) -> None:
    process.popen.send_signal(signal.SIGTERM)
    assert await process.wait() == 0


async def test_webhook_without_a_secret_refuses_to_start(api: BotApiStandIn, tmp_path: Path) -> None:
    env = amanat_env(
        f"sqlite:///{tmp_path / 'amanat.db'}",
        api,
        AMANAT_TELEGRAM__WEBHOOK_URL="https://amanat.example.org/telegram-hook",
        AMANAT_TELEGRAM__WEBHOOK_PORT=str(free_port()),
        AMANAT_ROLES__ADMINS=str(ADMIN_ID),
    )
    process = await refused(["run"], env, tmp_path)
    stderr = process.stderr()
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        "amanat: webhook mode needs a secret: set telegram.webhook_secret "
        "(env AMANAT_TELEGRAM__WEBHOOK_SECRET), or leave telegram.webhook_url empty for long polling"
    ]
    assert "AMANAT_TELEGRAM__WEBHOOK_SECRET=" in process.output()  # how to make and set one
    assert not api.calls_of("setWebhook") and not api.calls_of("getMe")  # it never came up


async def test_a_guessable_webhook_secret_is_a_configuration_error(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    env = amanat_env(
        f"sqlite:///{tmp_path / 'amanat.db'}",
        api,
        AMANAT_TELEGRAM__WEBHOOK_URL="https://amanat.example.org/telegram-hook",
        AMANAT_TELEGRAM__WEBHOOK_SECRET="pass word 1",
    )
    process = await refused(["run"], env, tmp_path)
    assert "telegram.webhook_secret (env AMANAT_TELEGRAM__WEBHOOK_SECRET): " in process.stderr()
    assert "pass word 1" not in process.output()
    assert not api.calls_of("getMe")


async def test_a_forged_update_gets_no_answer_and_nothing_personal_is_logged(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    port = free_port()
    env = amanat_env(
        f"sqlite:///{tmp_path / 'amanat.db'}",
        api,
        AMANAT_TELEGRAM__WEBHOOK_URL=f"https://amanat.example.org{HOOK_PATH}",
        AMANAT_TELEGRAM__WEBHOOK_PORT=str(port),
        AMANAT_TELEGRAM__WEBHOOK_SECRET=SECRET,
        AMANAT_ROLES__ADMINS=str(ADMIN_ID),
        AMANAT_LOG__LEVEL="DEBUG",
    )
    hook = f"http://127.0.0.1:{port}{HOOK_PATH}"
    api.webhook_target = hook
    process = start(["run"], env, tmp_path)
    try:
        await wait_for_webhook(api, port, 0, process)
        assert await post(hook, forged_stats_update(900001, "Forgedname"), None) == 403
        assert await post(hook, forged_stats_update(900002, "Forgedname"), "wrong-secret") == 403
        # A real update through Telegram (the stand-in sends the right header) is answered; updates are
        # handled one at a time, so had a forged one been taken, its answer would be there by now.
        relative = api.user(7003, "Айгерим", language_code="kk", username="aigerim_private_handle")
        assert "Аманат" in (await say(api, relative, "/start")).text
        assert api.messages(ADMIN_ID) == []
        await stop_cleanly(process)
    finally:
        process.stop()
    output = process.output()
    assert "DEBUG" in output
    for private in (SECRET, api.token, "Forgedname", "Айгерим", "aigerim_private_handle"):
        assert private not in output, private


@pytest.mark.parametrize("echo", ["false", "true"])  # database.echo: SQLAlchemy prints every statement
async def test_debug_logs_of_a_dialogue_hold_no_names_or_texts(
    api: BotApiStandIn, tmp_path: Path, echo: str
) -> None:
    env = amanat_env(
        f"sqlite:///{tmp_path / 'amanat.db'}", api, AMANAT_LOG__LEVEL="DEBUG", AMANAT_DATABASE__ECHO=echo
    )
    process = start(["run"], env, tmp_path)
    relative = api.user(
        7004, "Зульфира", language_code="ru", username="zulfira_handle_77", last_name="Оспанова"
    )
    try:
        await wait_for_call(api, "getUpdates", 0, process)
        greeting = await say(api, relative, "/start")
        await api.press(relative, greeting, greeting.all_buttons()[0].text)
        await api.wait_for_messages(relative.id, timeout=20)
        assert "1 из 6" in (await say(api, relative, "/search")).text
        assert "2 из 6" in (await say(api, relative, "Шарипбаевщиков")).text
        await say(api, relative, "Мой дед ушёл на фронт из аула Караозек")
        await stop_cleanly(process)
    finally:
        process.stop()
    output = process.output()
    assert "DEBUG" in output
    for private in ("Зульфира", "zulfira_handle_77", "Оспанова", "Шарипбаевщиков", "Караозек", api.token):
        assert private not in output, private
