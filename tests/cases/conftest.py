"""Fixtures of the case tests: a database holding the sample registry, and the started bot with a
volunteers' group, two volunteers, a relative and a stranger (``desk``; see cases_harness.py)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cases_harness import Desk

from bot.services.registry_import import import_file
from models import Database

SAMPLE_REGISTRY = Path(__file__).resolve().parents[2] / "bot" / "data" / "sample_registry.csv"


@pytest.fixture(scope="session")
def cases_registry_template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_template: Path) -> Path:
    """A migrated SQLite file holding the bundled sample registry, imported once per session."""
    path = tmp_path_factory.mktemp("cases-registry") / "registry.db"
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
def cases_url(tmp_path: Path, cases_registry_template: Path) -> str:
    path = tmp_path / "bot.db"
    shutil.copyfile(cases_registry_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def desk(cases_url: str) -> AsyncIterator[Desk]:
    """The real bot with the volunteers' group configured."""
    harness = Desk(cases_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def private_desk(cases_url: str) -> AsyncIterator[Desk]:
    """The real bot with no volunteers' group: cases go to each volunteer privately."""
    harness = Desk(cases_url, group=False)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def lonely_desk(cases_url: str) -> AsyncIterator[Desk]:
    """The real bot with no volunteers configured at all."""
    harness = Desk(cases_url, group=False, volunteers=False)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
