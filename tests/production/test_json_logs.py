"""Structured logs: `log.format = "json"` gives one JSON object per line on stderr, ids only and no secret;
`log.levels` turns one module to DEBUG without opening the libraries that would print tokens or texts."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botapi_standin import BotApiStandIn
from models import Database
from tests.faults.faults_harness import GUARD, environment, import_rows, reading_of, relatives_waiting


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as stand_in:
        yield stand_in


async def run_match(api: BotApiStandIn, url: str, workdir: Path, **extra: str) -> tuple[int, str]:
    """`amanat match`; its stderr (the log) only."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "match",
        cwd=workdir,
        env=environment(api, url, **extra),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=GUARD)
    return process.returncode or 0, err.decode()


async def test_json_logs_are_one_object_per_line_with_the_chosen_module_at_debug(
    api: BotApiStandIn, db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    relatives = await relatives_waiting(api, db, 3001, 2, "legkodymov")
    await import_rows(db, tmp_path / "new.csv", [reading_of("legkodymov", "L-1")])
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    code, log = await run_match(
        api,
        sqlite_url,
        workdir,
        AMANAT_LOG__FORMAT="json",
        AMANAT_LOG__LEVELS=json.dumps({"bot.services.matching": "DEBUG", "telegram.ext": "DEBUG"}),
    )
    assert code == 0, log
    records = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is one object
    assert records and all({"time", "level", "logger", "message"} <= set(record) for record in records)
    debug = [record for record in records if record["level"] == "DEBUG"]
    assert any(record["logger"] == "bot.services.matching" for record in debug), records
    assert all(record["logger"].startswith("bot.services.matching") for record in debug), (
        debug
    )  # telegram capped
    assert sum(api.history(chat_id)[0].method == "sendMessage" for chat_id in relatives) == len(relatives)
    for private in (api.token, api.token.partition(":")[2], "Айгүл", "Легкодымов", "Емельян"):
        assert private not in log, private


async def test_text_logs_stay_the_default(api: BotApiStandIn, sqlite_url: str, tmp_path: Path) -> None:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    code, log = await run_match(api, sqlite_url, workdir)
    assert code == 0, log
    assert log.strip() and not log.lstrip().startswith("{")
