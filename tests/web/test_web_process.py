"""The bot's own web server in a real `amanat run` process against the Bot API stand-in.

`/healthz` answers 200 with every part named once the bot is up, 503 naming the database once the
database is gone (the SQLite file removed, or the PostgreSQL database dropped), and `/metrics` parses as
Prometheus text and counts the updates (a `/start`, the consent, a `/search`) a relative sent through the
stand-in, and times the search.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import async_database_url
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

WAIT = 60.0  # a guard against hangs, never a timing assertion


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=30)) as response,
    ):
        return response.status, await response.text()


async def until(condition: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Polls ``condition`` until it returns something truthy (bounded by WAIT)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        value = await condition()
        if value:
            return value
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


async def health(port: int) -> tuple[int, dict[str, Any]]:
    status, body = await get(port, "/healthz")
    return status, json.loads(body)


def updates_counted(metrics_text: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "amanat_updates":
            total += sum(sample.value for sample in family.samples if sample.name == "amanat_updates_total")
    return total


def searches_timed(metrics_text: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "amanat_search_seconds":
            return sum(
                sample.value for sample in family.samples if sample.name == "amanat_search_seconds_count"
            )
    return 0.0


async def check_healthy_then_metrics_count_start(api: BotApiStandIn, port: int, process: Any) -> None:
    await wait_for_call(api, "getUpdates", 0, process)
    _status, body = await until(lambda: _healthy(port), "/healthz answers 200")
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "index", "matching", "outbox"}
    assert body["checks"]["index"]["ok"] and body["checks"]["database"]["ok"]

    relative = api.user(7101, "Мария", language_code="ru")
    greeting = await say(api, relative, "/start")
    assert "Аманат" in greeting.text
    await press_first(api, relative, greeting)  # consent
    await say(api, relative, "/search Легкодымов Емельян 1904")

    async def counted() -> str | None:
        _status, metrics = await get(port, "/metrics")
        return metrics if updates_counted(metrics) >= 3 and searches_timed(metrics) >= 1 else None

    metrics = await until(counted, "/metrics counts the updates and times the search")
    names = {family.name for family in text_string_to_metric_families(metrics)}
    assert {"amanat_update_seconds", "amanat_outbox_messages", "amanat_cases", "amanat_database_up"} <= names


async def _healthy(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        status, body = await health(port)
    except aiohttp.ClientError:  # not listening yet
        return None
    return (status, body) if status == 200 else None


async def failing_database(port: int) -> dict[str, Any]:
    async def failing() -> dict[str, Any] | None:
        status, body = await health(port)
        return body if status == 503 and "database" in body.get("failing", []) else None

    return await until(failing, "/healthz answers 503 naming the database")


async def test_healthz_and_metrics_on_sqlite(api: BotApiStandIn, tmp_path: Path) -> None:
    port = free_port()
    db_path = tmp_path / "amanat.db"
    process = start_bot(amanat_env(f"sqlite:///{db_path}", api, AMANAT_WEB__PORT=str(port)), tmp_path)
    try:
        await check_healthy_then_metrics_count_start(api, port, process)
        # The database file goes away (root ignores file modes, so read-only is no test here).
        moved = tmp_path / "moved"
        moved.mkdir()
        for path in tmp_path.glob("amanat.db*"):
            path.rename(moved / path.name)
        body = await failing_database(port)
        assert body["status"] == "failing" and body["checks"]["database"]["ok"] is False
        assert "error" in body["checks"]["database"]
        assert not db_path.exists()  # the probe never creates a database
    finally:
        stop(process)


async def test_healthz_names_a_dropped_postgres_database(
    api: BotApiStandIn, tmp_path: Path, postgres_url: str
) -> None:
    port = free_port()
    env = amanat_env(postgres_url, api, AMANAT_WEB__PORT=str(port))
    process = start_bot(env, tmp_path)
    try:
        await check_healthy_then_metrics_count_start(api, port, process)
        admin = create_async_engine(
            async_database_url(os.environ["AMANAT_TEST_POSTGRES_URL"]), isolation_level="AUTOCOMMIT"
        )
        try:
            async with admin.connect() as connection:
                name = make_url(postgres_url).database
                await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        finally:
            await admin.dispose()
        body = await failing_database(port)
        assert "does not exist" in body["checks"]["database"]["error"]
    finally:
        stop(process)


async def test_port_zero_serves_nothing(api: BotApiStandIn, tmp_path: Path) -> None:
    port = free_port()
    process = start_bot(
        amanat_env(f"sqlite:///{tmp_path / 'amanat.db'}", api, AMANAT_WEB__PORT="0"), tmp_path
    )
    try:
        await wait_for_call(api, "getUpdates", 0, process)
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(port, "/healthz")
    finally:
        stop(process)


async def test_healthz_in_webhook_mode(api: BotApiStandIn, tmp_path: Path) -> None:
    port, hook_port = free_port(), free_port()
    env = amanat_env(
        f"sqlite:///{tmp_path / 'amanat.db'}",
        api,
        AMANAT_WEB__PORT=str(port),
        AMANAT_TELEGRAM__WEBHOOK_URL="https://amanat.example.org/telegram-hook",
        AMANAT_TELEGRAM__WEBHOOK_PORT=str(hook_port),
        AMANAT_TELEGRAM__WEBHOOK_SECRET="s3cret-value-for-the-hook",
    )
    api.webhook_target = f"http://127.0.0.1:{hook_port}/telegram-hook"
    process = start_bot(env, tmp_path)
    try:
        await wait_for_webhook(api, hook_port, 0, process)
        _status, body = await until(lambda: _healthy(port), "/healthz answers 200 in webhook mode")
        assert body["status"] == "ok"
    finally:
        stop(process)
