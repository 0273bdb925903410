"""The fault suite's scenario: relatives with saved searches, readings that fit them, real processes.

`amanat match` and `amanat run` run as real processes against the Bot API stand-in and a real database;
they are stopped with kill -9 (from outside, or by the `AMANAT_FAULT` hook of bot.services.faults, which
calls `os._exit` at a named point), restarted, and what reached each chat is counted at the stand-in.
"""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from bot.services.people import give_consent
from bot.services.registry_import import import_file
from bot.services.saved_searches import SearchFields, save_request
from botapi_standin import BotApiStandIn
from models import Database, Match, OutboxMessage

REPO = Path(__file__).resolve().parents[2]
# A guard against a hang (a cold start imports, migrates and loads the index), not a timed assertion.
GUARD = 90.0

COLUMNS = ["reading_id", "surname", "name", "patronymic", "birth_year", "birthplace"]
SOLDIERS = {
    "legkodymov": (
        {"surname": "Лехкодымов", "name": "Емельян", "birth_year": 1904},
        {
            "surname": "Легкодымов (Лехкодымов)",
            "name": "Емельян",
            "patronymic": "Тимофеевич",
            "birth_year": "1904",
        },
    ),
    "kusainov": (
        {"surname": "Кусаинов", "name": "Жумабай", "birth_year": 1914},
        {"surname": "Кусаинов / Кусайнов", "name": "Жумабай", "birth_year": "1914"},
    ),
}


def filler(n: int) -> dict[str, str]:
    return {"reading_id": f"F-{n}", "surname": "Федоров", "name": "Пётр", "birth_year": "1911"}


async def relatives_waiting(
    api: BotApiStandIn, db: Database, first_id: int, count: int, soldier: str
) -> list[int]:
    """`count` relatives (known to the stand-in) who saved a search for `soldier`."""
    ids = list(range(first_id, first_id + count))
    search, _ = SOLDIERS[soldier]
    for person_id in ids:
        api.user(person_id, "Айгүл", language_code="ru")
        await give_consent(db, person_id, "ru")
        await save_request(db, person_id, SearchFields(**search))  # type: ignore[arg-type]
    return ids


def reading_of(soldier: str, reading_id: str) -> dict[str, str]:
    return {"reading_id": reading_id, **SOLDIERS[soldier][1]}


async def import_rows(db: Database, path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    await import_file(db, path)


def environment(api: BotApiStandIn, url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMANAT_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "AMANAT_DATABASE__URL": url,
            "AMANAT_TELEGRAM__TOKEN": api.token,
            "AMANAT_TELEGRAM__BASE_URL": api.base_url,
            "AMANAT_TELEGRAM__BASE_FILE_URL": api.base_file_url,
            "AMANAT_TELEGRAM__POLL_TIMEOUT_SECONDS": "1",
            "AMANAT_MATCHING__INTERVAL_SECONDS": "3600",
            **extra,
        }
    )
    return env


async def amanat(api: BotApiStandIn, url: str, workdir: Path, *args: str, **extra: str) -> tuple[int, str]:
    """Run `python -m bot ARGS…` to its end (the stand-in answers on this event loop meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=workdir,
        env=environment(api, url, **extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=GUARD)
    return process.returncode or 0, output.decode()


def start_bot(api: BotApiStandIn, url: str, workdir: Path, **extra: str) -> subprocess.Popen[bytes]:
    """`amanat run` as a deployment starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=environment(api, url, **extra),
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "bot.log").open("ab"),
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def deliveries(api: BotApiStandIn, chat_ids: list[int]) -> Counter[int]:
    """How many messages each chat received (sendMessage calls the stand-in accepted)."""
    return Counter(
        {chat_id: sum(1 for m in api.history(chat_id) if m.method == "sendMessage") for chat_id in chat_ids}
    )


async def outbox_states(db: Database) -> Counter[str]:
    async with db.session() as session:
        rows = await session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))
        return Counter({str(state): int(count) for state, count in rows})


async def match_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Match)) or 0)


async def until(condition_met: object, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until an async condition holds (a guard stops a hang; nothing is asserted about time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD
    while not await condition_met():  # type: ignore[operator]
        if process is not None:
            assert process.poll() is None, f"the bot exited with {process.returncode} before {what}"
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)
