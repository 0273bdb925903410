"""Fixtures of the memory book's tests: the started bot (``book``; see stories_harness.py) on a database
holding the sample registry, with a storage directory of its own, two volunteers and two families."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from book_data import Seeded, seed
from stories_harness import Book

from bot.services.registry_import import import_file
from bot.services.story_files import StoryStorage
from models import Database

SAMPLE_REGISTRY = Path(__file__).resolve().parents[2] / "bot" / "data" / "sample_registry.csv"


@pytest.fixture(scope="session")
def stories_registry_template(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_template: Path
) -> Path:
    """A migrated SQLite file holding the bundled sample registry, imported once per session."""
    path = tmp_path_factory.mktemp("stories-registry") / "registry.db"
    shutil.copyfile(migrated_sqlite_template, path)

    async def load() -> None:
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await import_file(database, SAMPLE_REGISTRY)
        finally:
            await database.dispose()

    asyncio.run(load())
    return path


@pytest.fixture
def stories_url(tmp_path: Path, stories_registry_template: Path) -> str:
    path = tmp_path / "bot.db"
    shutil.copyfile(stories_registry_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def book(stories_url: str, tmp_path: Path) -> AsyncIterator[Book]:
    """The real bot with volunteers and a storage directory under ``tmp_path``."""
    harness = Book(stories_url, tmp_path / "storage")
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def seeded(stories_url: str, tmp_path: Path) -> tuple[Seeded, StoryStorage]:
    """The memory book of book_data.seed in a fresh database, its files under tmp_path/storage."""
    storage = StoryStorage(tmp_path / "storage")
    db = Database(stories_url)
    try:
        return await seed(db, storage), storage
    finally:
        await db.dispose()
