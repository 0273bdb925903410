"""Two `amanat run` processes on one PostgreSQL behind one webhook, as a reverse proxy runs them.

The stand-in delivers each update to one process or the other (what nginx does); one relative's dialogue
goes through both in turn, and every step is answered once, on the state the step before left (dialogue
state is read per update). Then readings are imported and the process that takes the matching pass is
killed in the middle of it (the `AMANAT_FAULT` hook, set in both: whichever holds the lease dies); the
other takes the lease over at its next tick and finishes the pass. Every relative waiting for those
soldiers is told exactly once: no match, notification or delivery is lost or doubled.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.faults import FAULT_EXIT_CODE
from botapi_standin import BotApiStandIn, SentMessage, SimUser
from models import Database
from tests.amanat_process import amanat_env, free_port, start_bot, stop, wait_for_webhook
from tests.faults.faults_harness import (
    deliveries,
    filler,
    import_rows,
    match_count,
    outbox_states,
    reading_of,
    relatives_waiting,
    until,
)

HOOK = "/telegram-hook"
SECRET = "two-processes-secret-0123456789"


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as stand_in:
        yield stand_in


async def step(
    api: BotApiStandIn, hook: str, user: SimUser, text: str | None = None, **press: str
) -> SentMessage:
    """One update of the user through the process behind ``hook``; its one reply."""
    api.webhook_target = hook
    if text is not None:
        await api.send_text(user, text)
    else:
        await api.press(user, press["message"], press["button"])  # type: ignore[arg-type]
    [reply] = await api.wait_for_messages(user.id, timeout=60)
    return reply


async def test_two_processes_serve_one_dialogue_and_a_killed_pass_loses_and_doubles_nothing(
    api: BotApiStandIn, postgres_url: str, tmp_path: Path
) -> None:
    db = Database(postgres_url)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        told_of_legkodymov = await relatives_waiting(api, db, 3001, 3, "legkodymov")
        told_of_kusainov = await relatives_waiting(api, db, 3101, 2, "kusainov")
        everyone = told_of_legkodymov + told_of_kusainov
        hooks = []
        for n in range(2):
            port = free_port()
            workdir = tmp_path / f"process-{n}"
            workdir.mkdir()
            hooks.append(f"http://127.0.0.1:{port}{HOOK}")
            processes.append(
                start_bot(
                    amanat_env(
                        postgres_url,
                        api,
                        AMANAT_TELEGRAM__WEBHOOK_URL=f"https://amanat.example.org{HOOK}",
                        AMANAT_TELEGRAM__WEBHOOK_PORT=str(port),
                        AMANAT_TELEGRAM__WEBHOOK_SECRET=SECRET,
                        AMANAT_WEB__PORT="0",
                        AMANAT_MATCHING__INTERVAL_SECONDS="5",
                        AMANAT_MATCHING__BATCH_SIZE="2",
                        AMANAT_FAULT="matching-scored:2",
                    ),
                    workdir,
                )
            )

        for process, hook in zip(processes, hooks, strict=True):  # set and listening (PTB sets it first)
            await wait_for_webhook(api, int(hook.split(":")[2].split("/")[0]), 0, process)
        first, second = hooks

        relative = api.user(4001, "Алия", language_code="ru")
        greeting = await step(api, first, relative, "/start")
        consented = await step(api, second, relative, message=greeting, button=greeting.button_texts()[0])  # type: ignore[arg-type]
        assert consented.text
        assert "Вопрос 1 из 6" in (await step(api, first, relative, "/search")).text
        assert "Вопрос 2 из 6" in (await step(api, second, relative, "Лехкодымов")).text
        assert "Вопрос 3 из 6" in (await step(api, first, relative, "Емельян")).text
        assert "Вопрос 4 из 6" in (await step(api, second, relative, "Тимофеевич")).text

        # Chunks of two: [F-1, Легкодымов], [F-2, Кусаинов]: the pass dies having scored the second chunk.
        rows = [filler(1), reading_of("legkodymov", "L-1"), filler(2), reading_of("kusainov", "K-1")]
        await import_rows(db, tmp_path / "new.csv", rows)

        async def one_died() -> bool:
            return any(process.poll() is not None for process in processes)

        await until(one_died, "the process holding the matching pass was killed in it")
        dead = next(process for process in processes if process.poll() is not None)
        survivor = next(process for process in processes if process is not dead)
        assert dead.returncode == FAULT_EXIT_CODE

        async def everyone_told() -> bool:
            states = await outbox_states(db)
            return sum(deliveries(api, everyone).values()) >= len(everyone) and set(states) <= {"sent"}

        await until(everyone_told, "every waiting relative was told", survivor)
        assert deliveries(api, everyone) == {chat_id: 1 for chat_id in everyone}
        assert await match_count(db) == len(everyone)
        # The survivor goes on serving the dialogue where it was.
        survivor_hook = hooks[processes.index(survivor)]
        assert "Вопрос 5 из 6" in (await step(api, survivor_hook, relative, "1904")).text
    finally:
        for process in processes:
            stop(process)
        await db.dispose()
    for n in range(2):
        log = (tmp_path / f"process-{n}" / "bot.log").read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in log or "fault injection" in log, log[-3000:]
