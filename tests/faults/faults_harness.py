"""The fault suite's scenario: relatives with saved searches, readings that fit them, real processes.

`amanat match` and `amanat run` run as real processes against the Bot API stand-in and a real database;
they are stopped with kill -9 (from outside, or by the `AMANAT_FAULT` hook of bot.services.faults, which
calls `os._exit` at a named point), restarted, and what reached each chat is counted at the stand-in.
"""

from __future__ import annotations

import asyncio
import csv
import signal
import subprocess
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from bot.services.faults import FAULT_EXIT_CODE
from bot.services.people import give_consent
from bot.services.registry_import import import_file
from bot.services.saved_searches import SearchFields, save_request
from botapi_standin import BotApiStandIn, Observed, SentMessage
from models import Database, Match, OutboxMessage
from tests.amanat_process import amanat_env, run, start_bot, stop

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


async def amanat(api: BotApiStandIn, url: str, workdir: Path, *args: str, **extra: str) -> tuple[int, str]:
    """Run `python -m bot ARGS…` to its end; its exit code and everything it printed (stdout, then stderr)."""
    code, out, err = await run(list(args), amanat_env(url, api, **extra), workdir)
    return code, out + err


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


async def crash_at_nth_send(
    api: BotApiStandIn, env: dict[str, str], workdir: Path, how: str, at: int
) -> None:
    """Start a real bot and let it die at its ``at``-th message: ``kill -9 …`` from outside while the
    message is in flight, or any other ``how`` as the named fault point (``AMANAT_FAULT=how:at``)."""
    from_outside = how.startswith("kill")
    fault = {} if from_outside else {"AMANAT_FAULT": f"{how}:{at}"}
    bot = start_bot({**env, **fault}, workdir)
    seen = 0

    def kill_at_the_nth_send(item: Observed) -> None:
        nonlocal seen
        if isinstance(item, SentMessage) and item.method == "sendMessage" and not item.edited:
            seen += 1
            if seen == at:  # the bot is waiting for this answer: the message is in flight
                bot.send_signal(signal.SIGKILL)

    if from_outside:
        api.add_listener(kill_at_the_nth_send)
    try:
        code = await asyncio.to_thread(bot.wait, 120)
    finally:
        stop(bot)
        if from_outside:
            api.remove_listener(kill_at_the_nth_send)
    assert code == (-signal.SIGKILL if from_outside else FAULT_EXIT_CODE)


def assert_each_once_but_in_flight(counts: Counter[int], total: int, in_flight: bool) -> None:
    """Nobody missed; nobody served twice except the one message in flight at the crash, if any."""
    doubled = [chat_id for chat_id, n in counts.items() if n > 1]
    assert all(n >= 1 for n in counts.values())
    assert max(counts.values()) <= 2 and len(doubled) <= (1 if in_flight else 0)
    assert sum(counts.values()) == total + len(doubled)
