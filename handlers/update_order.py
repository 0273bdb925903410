"""Concurrency across chats, order within a chat, and each person's backlog: the Application's update processor.

PTB hands every update to :class:`PerChatUpdateProcessor`. Updates of one chat (or, without a chat, of one
user) run one after another, in the order they arrived; updates of different chats run at the same time,
at most ``workers`` of them at once. One slow update (a database lock held for 45 s, a relative who sent
600 /search) then holds up only its own chat, and two updates of the same person can never read and
write their dialogue state at the same time.

PTB's own semaphore (:class:`telegram.ext.BaseUpdateProcessor`) is taken *before* an update waits for its
chat, so a chat with a long queue would hold every slot of a small semaphore and stall everyone. That
semaphore is therefore only the bound on updates in memory (``queued``); the bound on updates being
worked on (``workers``) is taken after the chat's turn has come.

The processor also counts, per user, the updates that arrived and are not yet handled (their backlog). An
update that arrives when its sender already has ``backlog`` updates waiting is *flooding*:
:meth:`PerChatUpdateProcessor.flood_verdict` tells the flood check (handlers/flood.py) to drop it, and to
tell the person once per flood (until their backlog is empty again). Someone who waits for the answers is
never limited, however quick the bot is; someone who sends 100 messages in a second is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_WORKERS = 16
DEFAULT_QUEUED = 10_000
DEFAULT_BACKLOG = 5


class Flood(Enum):
    """What the flood check does with an update."""

    HANDLE = "handle"
    DROP_AND_TELL = "drop and tell"  # the first update of a flood: dropped, the person told
    DROP = "drop"  # later updates of the same flood: dropped silently


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


@dataclass
class _Backlog:
    """One user's updates that arrived and are not handled yet, and whether this flood was announced."""

    waiting: int = 0
    told: bool = False


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs updates of different chats concurrently (at most ``workers`` at once), one chat's in order."""

    def __init__(
        self, workers: int = DEFAULT_WORKERS, queued: int = DEFAULT_QUEUED, backlog: int = DEFAULT_BACKLOG
    ) -> None:
        if workers < 1 or backlog < 1:
            raise ValueError("workers and backlog must be at least 1")
        super().__init__(max(queued, workers, 2))  # > 1: PTB then hands updates over as tasks
        self.workers = workers
        self.backlog = backlog
        self._work = asyncio.Semaphore(workers)
        self._lanes: dict[Hashable, _Lane] = {}
        self._backlogs: dict[int, _Backlog] = {}
        self._verdicts: dict[int, Flood] = {}  # id(update) -> verdict, while the update is being handled

    def flood_verdict(self, update: object) -> Flood:
        """Whether the flood check lets ``update`` through (decided when it arrived)."""
        return self._verdicts.get(id(update), Flood.HANDLE)

    def _arrived(self, update: object) -> int | None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            return None
        backlog = self._backlogs.get(user.id)
        if backlog is None:
            backlog = self._backlogs[user.id] = _Backlog()
        if backlog.waiting >= self.backlog:
            self._verdicts[id(update)] = Flood.DROP if backlog.told else Flood.DROP_AND_TELL
            backlog.told = True
        backlog.waiting += 1
        return user.id

    def _handled(self, update: object, user_id: int | None) -> None:
        self._verdicts.pop(id(update), None)
        if user_id is None:
            return
        backlog = self._backlogs[user_id]
        backlog.waiting -= 1
        if backlog.waiting == 0:  # calm again: a later flood is announced anew
            del self._backlogs[user_id]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this chat's earlier updates (asyncio.Lock is fair: FIFO), then for a worker, then run."""
        user_id = self._arrived(update)
        key = order_key(update)
        try:
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
        finally:
            self._handled(update, user_id)

    def waiting_chats(self) -> int:
        """How many chats have an update running or waiting (for monitoring)."""
        return len(self._lanes)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB waits for the running updates itself."""
