"""Migrations: an empty database of either kind reaches the newest schema, which matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import models
from models import Database
from models.db import alembic_config


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
