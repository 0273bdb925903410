"""Fixtures of the case tests: the started bot, on ``registry_url`` (tests/conftest.py), with a
volunteers' group, two volunteers, a relative and a stranger (``desk``; see cases_harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cases_harness import Desk


@pytest.fixture
async def desk(registry_url: str) -> AsyncIterator[Desk]:
    """The real bot with the volunteers' group configured."""
    harness = Desk(registry_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def private_desk(registry_url: str) -> AsyncIterator[Desk]:
    """The real bot with no volunteers' group: cases go to each volunteer privately."""
    harness = Desk(registry_url, group=False)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def lonely_desk(registry_url: str) -> AsyncIterator[Desk]:
    """The real bot with no volunteers configured at all."""
    harness = Desk(registry_url, group=False, volunteers=False)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
