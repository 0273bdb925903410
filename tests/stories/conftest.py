"""Fixtures of the memory book's tests: the started bot (``book``; see stories_harness.py) on
``registry_url`` (tests/conftest.py: the sample registry), with a storage directory of its own, two
volunteers and two families."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from book_data import Seeded, seed
from stories_harness import Book

from bot.services.story_files import DirectoryStore
from models import Database


@pytest.fixture
async def book(registry_url: str, tmp_path: Path) -> AsyncIterator[Book]:
    """The real bot with volunteers and a storage directory under ``tmp_path``."""
    harness = Book(registry_url, tmp_path / "storage")
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def seeded(registry_url: str, tmp_path: Path) -> tuple[Seeded, DirectoryStore]:
    """The memory book of book_data.seed in a fresh database, its files under tmp_path/storage."""
    storage = DirectoryStore(tmp_path / "storage")
    db = Database(registry_url)
    try:
        return await seed(db, storage), storage
    finally:
        await db.dispose()
