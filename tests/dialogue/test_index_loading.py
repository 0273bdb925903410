"""A bot that has just started answers searches at once: from the database while its in-memory index loads
in the background (bot.services.registry_index.LoadingRegistry), then from the index; /healthz's index
part says "loading" meanwhile and is not a failure (the process serves)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from dialogue_harness import Chat, make_settings

from bot.monitoring import Monitoring
from bot.services.registry_index import LoadingRegistry, RegistryIndex, open_registry_index
from models import Database


class GatedLoad:
    """An index load that waits until the test lets it go (the 25 s of a million readings, on demand)."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.registry: LoadingRegistry | None = None

    async def load(self, db: Database) -> RegistryIndex:
        await self.go.wait()
        return await open_registry_index(db)

    async def open(self, db: Database) -> LoadingRegistry:
        self.registry = LoadingRegistry(db, self.load)
        return self.registry


@pytest.fixture
async def gated(registry_url: str) -> AsyncIterator[tuple[Chat, GatedLoad]]:
    gate = GatedLoad()
    harness = Chat(registry_url, open_registry=gate.open)
    await harness.start()
    try:
        yield harness, gate
    finally:
        gate.go.set()
        await harness.stop()


async def test_searches_are_answered_while_the_index_loads_then_by_the_index(
    gated: tuple[Chat, GatedLoad], registry_url: str
) -> None:
    chat, gate = gated
    registry = gate.registry
    assert registry is not None
    user = chat.user(6101, "ru")
    await chat.consented(user)

    early = chat.only(await chat.say(user, "/search Легкодымова Емельяна 1904"))
    assert registry.loading and registry.index is None  # answered before the index exists
    assert "Легкодымов (Лехкодымов) Емельян" in early.text

    monitoring = Monitoring(make_settings(registry_url), registry.stored.db)
    monitoring.loading = registry
    health = await monitoring.check_index()
    assert health.ok and health.detail["state"] == "loading"

    gate.go.set()
    index = await registry.loaded()
    assert isinstance(index, RegistryIndex) and registry.current is index
    later = chat.only(await chat.say(user, "/search Легкодымова Емельяна 1904"))
    assert "Легкодымов (Лехкодымов) Емельян" in later.text
    await monitoring.probe.dispose()
