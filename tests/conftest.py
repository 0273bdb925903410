"""Shared test fixtures: fresh, migrated databases (SQLite always, PostgreSQL when one is reachable).

* ``db`` — a fresh SQLite :class:`models.Database` in ``tmp_path``, migrated to the newest schema.
  The migrations run once per test session into a template file that each test copies, so a fresh
  database costs a file copy, not a migration run.
* ``postgres_db`` — a fresh PostgreSQL database, created for the test and dropped after it, on the
  server named by ``AMANAT_TEST_POSTGRES_URL`` (e.g. ``postgresql://amanat@127.0.0.1/postgres``; the
  role needs CREATEDB). The test is skipped, with the reason, when the variable is unset or the server
  cannot be reached.
* ``any_db`` — parametrized over both: a test using it runs on SQLite and on PostgreSQL.
* ``registry_url`` — a fresh SQLite database holding the bundled sample registry (imported once per
  session into a template, then copied).
* ``make_db`` — a factory for a *second* handle on the same database URL (a "restarted process").
* ``api`` — the local Bot API stand-in, started, and stopped after the test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import async_database_url
from bot.services.registry_import import import_file
from botapi_standin import BotApiStandIn
from models import Database

POSTGRES_ENV = "AMANAT_TEST_POSTGRES_URL"
SAMPLE_REGISTRY = Path(__file__).resolve().parents[1] / "bot" / "data" / "sample_registry.csv"


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests copy it."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def migrate() -> None:
        database = Database(_sqlite_url(path))
        try:
            await database.upgrade()
        finally:
            await database.dispose()  # the last connection closing checkpoints the WAL into the file

    asyncio.run(migrate())
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite_template: Path) -> str:
    """The URL of a fresh, migrated SQLite database file in ``tmp_path``."""
    path = tmp_path / "amanat.db"
    shutil.copyfile(migrated_sqlite_template, path)
    return _sqlite_url(path)


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_template: Path) -> Path:
    """A migrated SQLite file holding the bundled sample registry, imported once per session."""
    path = tmp_path_factory.mktemp("registry") / "registry.db"
    shutil.copyfile(migrated_sqlite_template, path)

    async def load() -> None:
        database = Database(_sqlite_url(path))
        try:
            await import_file(database, SAMPLE_REGISTRY)
        finally:
            await database.dispose()

    asyncio.run(load())
    return path


@pytest.fixture
def registry_url(tmp_path: Path, registry_template: Path) -> str:
    """A fresh SQLite database with the sample registry (a copy of the session's template)."""
    path = tmp_path / "bot.db"
    shutil.copyfile(registry_template, path)
    return _sqlite_url(path)


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    """A fresh, migrated SQLite database."""
    database = Database(sqlite_url)
    try:
        yield database
    finally:
        await database.dispose()


def _postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}=postgresql://user@host/db (role with CREATEDB)")
    return async_database_url(url)


async def _create_postgres_database(admin_url: str) -> str:
    """Create a uniquely named database next to ``admin_url``'s and return its URL (asyncpg driver)."""
    name = f"amanat_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    admin_url = _postgres_admin_url()
    try:
        url = await asyncio.wait_for(_create_postgres_database(admin_url), timeout=10)
    except Exception as error:  # unreachable server, bad credentials, no CREATEDB: skip, saying why
        pytest.skip(f"PostgreSQL from {POSTGRES_ENV} is not usable: {type(error).__name__}: {error}")
    try:
        database = Database(url)
        try:
            await database.upgrade()
        finally:
            await database.dispose()
        yield url
    finally:
        await _drop_postgres_database(admin_url, url)


@pytest.fixture
async def postgres_db(postgres_url: str) -> AsyncIterator[Database]:
    """A fresh, migrated PostgreSQL database (skipped when none is configured or reachable)."""
    database = Database(postgres_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database URL: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def any_db(any_db_url: str) -> AsyncIterator[Database]:
    """A fresh, migrated database, once on SQLite and once on PostgreSQL."""
    database = Database(any_db_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def make_db() -> AsyncIterator[Callable[[str], Awaitable[Database]]]:
    """Open further handles on a database URL (as another process would); all disposed after the test."""
    opened: list[Database] = []

    async def open_database(url: str) -> Database:
        database = Database(url)
        opened.append(database)
        return database

    yield open_database
    for database in opened:
        await database.dispose()


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    """The Bot API stand-in, started for the test and stopped after it."""
    async with BotApiStandIn() as stand_in:
        yield stand_in
