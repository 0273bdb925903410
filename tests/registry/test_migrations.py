"""Migrations: an empty database of either kind reaches the newest schema, which matches the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import models
from models import Database
from models.db import alembic_config, head_revision


def test_each_migration_is_named_by_its_revision_and_follows_the_one_before() -> None:
    """What head_revision() (a start's cheap check that the schema is current) relies on."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = sorted(script.walk_revisions(), key=lambda r: str(r.revision))
    assert [r.down_revision for r in revisions] == [None, *[r.revision for r in revisions[:-1]]]
    for revision in revisions:
        assert revision.path is not None and Path(revision.path).name.startswith(f"{revision.revision}_")
    assert head_revision() == script.get_current_head()


def test_a_current_database_starts_without_loading_alembic(sqlite_url: str) -> None:
    """Every `amanat` command upgrades first; on a current schema that must not cost Alembic's import and
    the loading of every migration (a second or more of each bot start on a busy machine)."""
    probe = (
        "import asyncio, sys\n"
        "from models import Database\n"
        "async def main():\n"
        "    db = Database(sys.argv[1])\n"
        "    await db.upgrade()\n"
        "    await db.dispose()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe, sqlite_url], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "False"


async def test_empty_database_upgrades_to_head_and_matches_models(any_db_url: str) -> None:
    database = Database(any_db_url)
    try:
        await database.upgrade()  # a second run is harmless
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert await database.current_revision() == head

        def drift(connection: Connection) -> list[object]:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return list(compare_metadata(context, models.Base.metadata))

        def tables(connection: Connection) -> set[str]:
            return set(inspect(connection).get_table_names())

        async with database.engine.connect() as connection:
            assert await connection.run_sync(drift) == []
            names = await connection.run_sync(tables)
        assert {
            "readings",
            "reading_keys",
            "people",
            "search_requests",
            "matches",
            "outbox",
            "cases",
        } <= names
    finally:
        await database.dispose()


async def migrate(database: Database, verb: str, revision: str) -> None:
    """``alembic upgrade|downgrade revision`` on ``database``, as `amanat db upgrade` runs it."""

    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        getattr(command, verb)(cfg, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def test_reading_keys_survive_the_move_to_reading_order_and_back(any_db_url: str) -> None:
    """0002 rebuilds reading_keys keyed by (reading, key): the keys of a registry already imported stay."""
    from sqlalchemy import text

    database = Database(any_db_url)

    async def keys() -> list[tuple[str, int]]:
        async with database.engine.connect() as connection:
            result = await connection.execute(text('SELECT "key", reading_pk FROM reading_keys'))
            return sorted((key, pk) for key, pk in result)

    try:
        await migrate(database, "downgrade", "base")
        await migrate(database, "upgrade", "0001")
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO import_batches (id, source, started_at, rows_read, inserted, updated,"
                    " unchanged, rejected) VALUES (1, 'f.csv', '2026-01-01', 1, 1, 0, 0, 0)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO readings (id, reading_id, surname, extra, parsed, surname_norm, derived,"
                    " engine_version, content_hash, changed_batch, created_at, updated_at) VALUES"
                    " (7, 'r1', 'Легкодымов', '{}', '{}', 'легкодымов', '{}', '', 'h', 1,"
                    " '2026-01-01', '2026-01-01')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO reading_keys (\"key\", reading_pk) VALUES ('sлгкдмв|*', 7), ('sлкдмв|*', 7)"
                )
            )
        before = await keys()
        await migrate(database, "upgrade", "head")
        assert await keys() == before
        await migrate(database, "downgrade", "0001")
        assert await keys() == before
        await migrate(database, "upgrade", "head")
        assert await keys() == before
    finally:
        await database.dispose()


async def test_the_boards_weekly_counts_read_indexes_after_0011(any_db_url: str) -> None:
    """0011 indexes what the administrators' board counts per week (bot.services.board_stats), so each
    week is a range of an index on SQLite and PostgreSQL; down to 0010 they go, and up again."""

    wanted = {
        "people": ("ix_people_consent_at", ["consent_at"]),
        "search_requests": ("ix_search_requests_created_at", ["created_at"]),
        "matches": ("ix_matches_created_notification", ["created_at", "notification"]),
    }
    database = Database(any_db_url)

    async def present() -> dict[str, dict[str, list[str]]]:
        def read(connection: Connection) -> dict[str, dict[str, list[str]]]:
            found = inspect(connection)
            return {
                table: {str(ix["name"]): list(ix["column_names"]) for ix in found.get_indexes(table)}
                for table in wanted
            }

        async with database.engine.connect() as connection:
            return await connection.run_sync(read)

    try:
        await database.upgrade()
        indexes = await present()
        for table, (name, columns) in wanted.items():
            assert indexes[table].get(name) == columns, (table, indexes[table])
        await migrate(database, "downgrade", "0010")
        indexes = await present()
        assert not any(name in indexes[table] for table, (name, _) in wanted.items())
        await migrate(database, "upgrade", "head")
        indexes = await present()
        assert all(indexes[table].get(name) == columns for table, (name, columns) in wanted.items())
    finally:
        await database.dispose()
