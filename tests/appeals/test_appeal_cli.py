"""`amanat appeal …` as an administrator with a spreadsheet runs it: real processes on a real database.

create prints the draft's id; send writes the deliveries and leaves the sending to the running bot;
status (and --json) counts them; pause, resume and cancel change the appeal as the chat's buttons do.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from appeal_scenario import ADMIN, FOUND, delivery_states, import_registry, users

from bot.services.broadcast import get_appeal
from models import AppealStatus, Database
from tests.amanat_process import amanat_env, run


async def amanat(url: str, workdir: Path, *args: str, admins: str = str(ADMIN)) -> tuple[int, str, str]:
    return await run(list(args), amanat_env(url, AMANAT_ROLES__ADMINS=admins), workdir)


async def test_an_appeal_from_the_command_line(db: Database, sqlite_url: str, tmp_path: Path) -> None:
    await import_registry(db, tmp_path / "found.csv", FOUND)
    await users(None, db, 1000, 9)  # languages in turn: ru, kk, en

    code, out, err = await amanat(
        sqlite_url,
        tmp_path,
        "appeal",
        "create",
        "--reading-id",
        "KZ-2019-0001",
        "--text",
        "Ищем родных.",
        "--audience",
        "lang:kk",
    )
    assert code == 0, err
    appeal_id = int(out.strip())
    appeal = await get_appeal(db, appeal_id)
    assert appeal is not None and appeal.status == AppealStatus.DRAFT and appeal.audience == "lang:kk"
    assert appeal.soldier["surname"] == "Легкодымов (Лехкодымов)" and appeal.soldier["born"] == "1904"
    assert appeal.created_by == ADMIN

    code, out, err = await amanat(sqlite_url, tmp_path, "appeal", "send", str(appeal_id))
    assert code == 0, err
    assert f"appeal {appeal_id}: 0 relatives whose saved search fits are told first, then 3 recipients" in out
    assert await delivery_states(db, appeal_id) == {"pending": 3}  # the running bot sends them

    code, out, err = await amanat(sqlite_url, tmp_path, "appeal", "status", str(appeal_id), "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["status"] == "sending" and status["counts"]["pending"] == 3 and status["left"] == 3

    code, out, _ = await amanat(sqlite_url, tmp_path, "appeal", "pause", str(appeal_id))
    assert code == 0 and out.strip() == f"appeal {appeal_id}: paused"
    code, out, _ = await amanat(sqlite_url, tmp_path, "appeal", "resume", str(appeal_id))
    assert code == 0 and out.strip() == f"appeal {appeal_id}: sending"
    code, out, _ = await amanat(sqlite_url, tmp_path, "appeal", "cancel", str(appeal_id))
    assert code == 0 and out.strip() == f"appeal {appeal_id}: cancelled"
    assert await delivery_states(db, appeal_id) == {"cancelled": 3}
    code, out, _ = await amanat(sqlite_url, tmp_path, "appeal", "status", str(appeal_id))
    assert code == 0 and out.startswith(f"appeal {appeal_id}: cancelled; pending 0")

    code, _, err = await amanat(sqlite_url, tmp_path, "appeal", "pause", str(appeal_id))
    assert code == 1 and "cannot pause" in err


async def test_bad_appeal_commands_are_refused_with_a_clear_message(
    db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    typed = ("appeal", "create", "--surname", "Кусаинов", "--name", "Жумабай", "--born", "1914", "--text")
    # Refusals change nothing, so they run at once (each is a process start).
    bad_region, too_long, no_admins, no_reading, no_appeal = await asyncio.gather(
        amanat(sqlite_url, tmp_path, *typed, "Ищем.", "--audience", "region:Атлантида"),
        amanat(sqlite_url, tmp_path, *typed, "x" * 1001),
        amanat(sqlite_url, tmp_path, *typed, "Ищем.", admins=""),
        amanat(sqlite_url, tmp_path, "appeal", "create", "--reading-id", "NOPE", "--text", "Ищем."),
        amanat(sqlite_url, tmp_path, "appeal", "status", "999"),
    )
    code, out, err = bad_region
    assert code == 2 and "audience" in err and not out
    code, _, err = too_long
    assert code == 2 and "1000" in err
    code, _, err = no_admins
    assert code == 2 and "roles.admins" in err
    code, _, err = no_reading
    assert code == 1 and "NOPE" in err
    code, _, err = no_appeal
    assert code == 1 and "no appeal 999" in err
    assert await get_appeal(db, 1) is None  # none of them made a draft
    code, out, err = await amanat(sqlite_url, tmp_path, *typed, "Ищем.", "--audience", "region:Туркестанская")
    assert code == 0, err
    appeal = await get_appeal(db, int(out))
    assert appeal is not None and appeal.audience == "region:Туркестанская"
    assert appeal.soldier == {"surname": "Кусаинов", "name": "Жумабай", "born": "1914", "place": ""}
