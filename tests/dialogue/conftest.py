"""Fixtures of the dialogue tests: the started bot (``chat``) on ``registry_url`` (tests/conftest.py).

The harness itself (:class:`dialogue_harness.Chat`) is described in dialogue_harness.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from dialogue_harness import Chat


@pytest.fixture
async def chat(registry_url: str) -> AsyncIterator[Chat]:
    """The real bot on a fresh database holding the sample registry, started."""
    async with Chat(registry_url) as harness:
        yield harness
