"""`amanat import` killed with kill -9 at several points, then other imports and a re-run: nothing lost,
doubled or hidden.

Each import is a real process (`python -m bot import`) on a generated file and a real database. The
import is stopped dead at a named point by the test hook `AMANAT_FAULT=import-hang:POINT` (it says so on
stdout), and killed there with SIGKILL. Then another file is imported; the bot (the real Application over
HTTP against the Bot API stand-in, with its in-memory registry index, as `amanat run` has it) must find
its soldier, and the matching job must see it. The killed import is listed as lost by `amanat import
--status` and in /stats; finishing, rolling back or re-running it leaves every reading once.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.config import Settings
from bot.services.matching import run_matching_pass
from bot.services.registry_index import RegistryIndex, open_registry_index
from bot.services.saved_searches import SearchFields, save_request
from models import BatchState, Database, ImportBatch, Match, Person, Reading, ReadingKey, Role
from models.base import utcnow
from tests.amanat_process import amanat_env, run
from tests.dialogue.dialogue_harness import Chat

HEADER = "reading_id,surname,name,patronymic,birth_year,birthplace,notes\n"
SYLLABLES = ("ба", "ве", "го", "да", "же", "зи", "ко", "ла", "ми", "но", "пу", "ре", "си", "ту", "фе", "ха")
USER_IDS = itertools.count(4000)  # a new relative for each conversation
NEW_SOLDIER = "NEW-1,Новопашин,Трофим,Ильич,1911,Акмолинская обл.,\n"


def surname(number: int) -> str:
    """A different made-up surname for each number."""
    parts = []
    for _ in range(4):
        parts.append(SYLLABLES[number % len(SYLLABLES)])
        number //= len(SYLLABLES)
    return "".join(parts).capitalize() + "ов"


def write_registry(path: Path, rows: int, *, notes: int = 0) -> Path:
    """`rows` readings, each with `notes` characters of notes (to make a file large)."""
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        note = "н" * notes
        for number in range(rows):
            out.write(
                f"A-{number},{surname(number)},Иван,Петрович,{1900 + number % 25},Гурьевская обл.,{note}\n"
            )
    return path


class Amanat:
    """`python -m bot …` against one database, as an administrator runs it."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir

    async def start(self, *args: str, **extra: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=self.workdir,  # no config.toml here: the defaults plus the environment
            env=amanat_env(self.url, None, **extra),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        return await run(list(args), amanat_env(self.url), self.workdir, guard=None)

    async def import_killed_at(self, path: Path, point: str, *options: str) -> None:
        """Start importing `path` (with `options`), wait until it hangs at `point`, and kill it with SIGKILL."""
        process = await self.start(
            "import", "--no-progress", *options, str(path), AMANAT_FAULT=f"import-hang:{point}"
        )
        assert process.stdout is not None
        try:
            while True:
                line = await process.stdout.readline()
                assert line, f"the import ended before {point}: {(await process.communicate())[1].decode()}"
                if line.decode().strip() == f"import: hanging at {point}":
                    break
        finally:
            process.kill()  # SIGKILL
            await process.wait()


@pytest.fixture
def amanat(tmp_path: Path, any_db_url: str) -> Amanat:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    return Amanat(any_db_url, workdir)


@pytest.fixture
def db(any_db: Database) -> Database:
    """This module's database is the shared fixture's, on SQLite and on PostgreSQL."""
    return any_db


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def lost_batches(amanat: Amanat) -> list[str]:
    code, out, err = await amanat("import", "--status")
    assert code == 0, err
    return [line for line in out.splitlines() if " lost " in line]


async def bot_finds(db_url: str, text: str) -> str:
    """What the bot answers a relative's "/search …", with its registry index loaded as `amanat run` does."""
    async with Chat(db_url, open_registry=lambda db: open_registry_index(db, refresh_seconds=0.0)) as chat:
        user = chat.user(next(USER_IDS), "ru")
        await chat.consented(user)
        return chat.only(await chat.say(user, text)).text


async def matching_sees_new_soldier(db: Database) -> bool:
    """A relative saved a search for the new soldier; a matching pass records the match."""
    async with db.session() as session:
        if await session.get(Person, 77) is None:
            session.add(Person(id=77, language="ru", consent_at=utcnow()))
    await save_request(db, 77, SearchFields(surname="Новопашин", name="Трофим", birth_year=1911))
    await run_matching_pass(db, Settings(database={"url": db.url}))  # type: ignore[arg-type]
    async with db.session() as session:
        found = (
            await session.scalars(
                select(Reading.reading_id).join(Match, Match.reading_pk == Reading.id).distinct()
            )
        ).all()
    return "NEW-1" in found


async def assert_each_reading_once(db: Database, expected: int) -> None:
    async with db.session() as session:
        readings = int(await session.scalar(select(func.count()).select_from(Reading)) or 0)
        distinct = int(await session.scalar(select(func.count(func.distinct(Reading.reading_id)))) or 0)
        without_keys = await session.scalar(
            select(func.count())
            .select_from(Reading)
            .where(~select(ReadingKey.key).where(ReadingKey.reading_pk == Reading.id).exists())
        )
    assert readings == distinct == expected
    assert without_keys == 0
    index = await RegistryIndex.load(db)  # what a restarted bot loads: everything, once
    assert len(index) == expected


async def import_the_new_soldier(amanat: Amanat, tmp_path: Path) -> None:
    """Another file, after the killed import: one new soldier."""
    new = tmp_path / "new.csv"
    new.write_text(HEADER + NEW_SOLDIER, encoding="utf-8")
    code, _out, err = await amanat("import", "--no-progress", str(new))
    assert code == 0, err


async def assert_the_new_soldier_is_found(db: Database, db_url: str) -> None:
    """The bot finds the new soldier, and the matching pass sees him: the killed import hides nothing."""
    assert "Новопашин Трофим" in await bot_finds(db_url, "/search Новопашин Трофим 1911")
    assert await matching_sees_new_soldier(db)


async def rerun_completes(amanat: Amanat, db: Database, path: Path, expected: int) -> None:
    """The killed import run again: the lost batch closed, every reading of the file once."""
    code, _out, err = await amanat("import", "--no-progress", str(path))
    assert code == 0, err
    assert await lost_batches(amanat) == []
    await assert_each_reading_once(db, expected)


# Early, mid-way and after everything was written (before the batch is marked finished), on a file read
# here (under 8 MB). Batches of 1,000 rows (`--batch-rows`) give the same three points as a file ten times
# the size at the default 10,000, in a tenth of the time.
SMALL_BATCHES = ("--batch-rows", "1000")


@pytest.mark.parametrize("point", ["batch:1", "batch:2", "finish"])
async def test_a_killed_import_hides_no_later_import_and_a_rerun_completes_it(
    point: str, amanat: Amanat, db: Database, any_db_url: str, tmp_path: Path
) -> None:
    if point != "batch:2" and "postgresql" in any_db_url:
        pytest.skip("the other points run on SQLite only (time)")
    big = write_registry(tmp_path / "big.csv", 2_500)  # three batches of at most 1,000
    await amanat.import_killed_at(big, point, *SMALL_BATCHES)
    assert len(await lost_batches(amanat)) == 1

    await import_the_new_soldier(amanat, tmp_path)
    await assert_the_new_soldier_is_found(db, any_db_url)

    # The killed import run again: every reading of the file once, visible, the lost batch closed.
    await rerun_completes(amanat, db, big, 2_501)
    assert surname(2) in await bot_finds(any_db_url, f"/search {surname(2)} Иван 1902")
    matched_before = await count(db, Match)
    await run_matching_pass(db, Settings(database={"url": any_db_url}))  # type: ignore[arg-type]
    assert await count(db, Match) == matched_before  # nothing matched twice


# A large file (workers read and write it, and its search indexes are dropped and built again at the end):
# killed mid-way, and before the indexes are built again.
@pytest.mark.parametrize("point", ["batch:2", "rebuild"])
async def test_a_large_import_killed_leaves_the_registry_searchable(
    point: str, amanat: Amanat, db: Database, any_db_url: str, tmp_path: Path
) -> None:
    if "postgresql" in any_db_url:
        pytest.skip("SQLite only (time)")
    big = write_registry(tmp_path / "big.csv", 4_500, notes=1_990)  # near the longest field allowed
    assert big.stat().st_size > 16 << 20
    await amanat.import_killed_at(big, point, *SMALL_BATCHES)
    assert len(await lost_batches(amanat)) == 1

    await import_the_new_soldier(amanat, tmp_path)
    path = any_db_url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:  # the dropped indexes are back
        indexes = {
            name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
    assert {"ix_reading_keys_key", "ix_readings_surname_norm"} <= indexes
    await assert_the_new_soldier_is_found(db, any_db_url)
    await rerun_completes(amanat, db, big, 4_501)


async def test_an_administrator_sees_a_lost_import_and_finishes_or_rolls_it_back(
    amanat: Amanat, db: Database, any_db_url: str, tmp_path: Path
) -> None:
    if "postgresql" in any_db_url:
        pytest.skip("SQLite only (time)")
    first = write_registry(tmp_path / "first.csv", 2_500)
    await amanat.import_killed_at(first, "batch:2", *SMALL_BATCHES)
    (line,) = await lost_batches(amanat)
    batch = int(line.split()[0])
    written = int(line.split()[2])
    assert written == 2_000  # two batches of 1,000 were committed

    # /stats tells an administrator, in their language.
    async with Chat(any_db_url) as chat:
        admin = chat.user(5151, "en")
        await chat.consented(admin)
        assert chat.db is not None
        async with chat.db.session() as session:
            await session.execute(update(Person).where(Person.id == 5151).values(role=Role.ADMIN))
        stats = chat.only(await chat.say(admin, "/stats")).text
    assert f"Lost import #{batch} (first.csv" in stats and "2000 rows" in stats
    assert f"amanat import --finish {batch}" in stats

    index = await RegistryIndex.load(db)
    assert len(index) == 0  # hidden while lost
    code, out, err = await amanat("import", "--finish", str(batch))
    assert code == 0, err
    assert "2000 readings are visible" in out
    assert await lost_batches(amanat) == []
    assert await index.refresh(force=True) == 2_000  # a running bot's index takes them in

    # Another lost import, rolled back: what it inserted is gone.
    second = tmp_path / "second.csv"
    second.write_text(
        HEADER + "".join(f"B-{n},Петров,Иван,,1910,,\n" for n in range(1_500)), encoding="utf-8"
    )
    await amanat.import_killed_at(second, "batch:1", *SMALL_BATCHES)
    (line,) = await lost_batches(amanat)
    batch = int(line.split()[0])
    code, out, err = await amanat("import", "--rollback", str(batch))
    assert code == 0, err
    assert "1000 readings it inserted were deleted" in out
    assert await count(db, Reading) == 2_000
    async with db.session() as session:
        state = await session.scalar(select(ImportBatch.state).where(ImportBatch.id == batch))
    assert state == BatchState.ROLLED_BACK
    code, out, err = await amanat("import", "--rollback", str(batch))  # not lost any more: refused
    assert code == 1 and "rolled back, not lost" in err
