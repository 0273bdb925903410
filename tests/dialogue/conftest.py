"""Fixtures of the dialogue tests: a database holding the sample registry, and the started bot (``chat``).

The harness itself (:class:`dialogue_harness.Chat`) is described in dialogue_harness.py.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dialogue_harness import Chat

from bot.services.registry_import import import_file
from models import Database

SAMPLE_REGISTRY = Path(__file__).resolve().parents[2] / "bot" / "data" / "sample_registry.csv"


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_template: Path) -> Path:
    """A migrated SQLite file holding the bundled sample registry, imported once per session."""
    path = tmp_path_factory.mktemp("registry") / "registry.db"
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
def registry_url(tmp_path: Path, registry_template: Path) -> str:
    """A fresh SQLite database with the sample registry (a copy of the session's template)."""
    path = tmp_path / "bot.db"
    shutil.copyfile(registry_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def chat(registry_url: str) -> AsyncIterator[Chat]:
    """The real bot on a fresh database holding the sample registry, started."""
    async with Chat(registry_url) as harness:
        yield harness
