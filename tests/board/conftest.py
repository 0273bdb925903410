"""Fixtures of the web board's tests: the started bot with the board served (board_harness.py), on
``registry_url`` (tests/conftest.py: a fresh database holding the bundled sample registry)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.board.board_harness import BoardDesk


@pytest.fixture
async def board(registry_url: str) -> AsyncIterator[BoardDesk]:
    """The real bot, its web server with the board, the stand-in, the people of a case and an admin."""
    harness = BoardDesk(registry_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
