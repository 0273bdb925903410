"""Concurrency across chats, order within a chat: the Application's update processor.

PTB hands every update to :class:`PerChatUpdateProcessor`. Updates of one chat (or, without a chat, of one
user) run one after another, in the order they arrived; updates of different chats run at the same time,
at most ``workers`` of them at once. One slow update (a database lock held for 45 s, a relative who sent
600 /search) then holds up only its own chat, and two updates of the same person can never read and
write their dialogue state at the same time.

PTB's own semaphore (:class:`telegram.ext.BaseUpdateProcessor`) is taken *before* an update waits for its
chat, so a chat with a long queue would hold every slot of a small semaphore and stall everyone. That
semaphore is therefore only the bound on updates in memory (``queued``); the bound on updates being
worked on (``workers``) is taken after the chat's turn has come.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_WORKERS = 16
DEFAULT_QUEUED = 10_000


def order_key(update: object) -> Hashable | None:
    """The key whose updates must run in order: the chat, else the user, else None (no order needed)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None


class _Lane:
    """The updates of one chat: a lock taken in arrival order and the number of updates using it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs updates of different chats concurrently (at most ``workers`` at once), one chat's in order."""

    def __init__(self, workers: int = DEFAULT_WORKERS, queued: int = DEFAULT_QUEUED) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        super().__init__(max(queued, workers, 2))  # > 1: PTB then hands updates over as tasks
        self.workers = workers
        self._work = asyncio.Semaphore(workers)
        self._lanes: dict[Hashable, _Lane] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this chat's earlier updates (asyncio.Lock is fair: FIFO), then for a worker, then run."""
        key = order_key(update)
        if key is None:
            async with self._work:
                await coroutine
            return
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.users += 1
        try:
            async with lane.lock, self._work:
                await coroutine
        finally:
            lane.users -= 1
            if lane.users == 0:
                del self._lanes[key]

    def waiting_chats(self) -> int:
        """How many chats have an update running or waiting (for monitoring)."""
        return len(self._lanes)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB waits for the running updates itself."""
