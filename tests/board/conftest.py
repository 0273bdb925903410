"""Fixtures of the web board's tests: the started bot with the board served (board_harness.py), on a
database holding the bundled sample registry (imported once per session)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.registry_import import import_file
from models import Database
from tests.board.board_harness import BoardDesk

SAMPLE_REGISTRY = Path(__file__).resolve().parents[2] / "bot" / "data" / "sample_registry.csv"


@pytest.fixture(scope="session")
def board_registry_template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_template: Path) -> Path:
    path = tmp_path_factory.mktemp("board-registry") / "registry.db"
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
async def board(tmp_path: Path, board_registry_template: Path) -> AsyncIterator[BoardDesk]:
    """The real bot, its web server with the board, the stand-in, the people of a case and an admin."""
    path = tmp_path / "bot.db"
    shutil.copyfile(board_registry_template, path)
    harness = BoardDesk(f"sqlite+aiosqlite:///{path}")
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
