"""The bot's rate limiter: Telegram's limits for every process of one bot token, replies before the rest.

How to use it (the whole interface):

* :func:`bot.app.build_application` installs a :class:`SharedRateLimiter` on every Application; nothing
  else is needed for replies.
* Anything sent in the background — notifications, heartbeats, broadcasts — passes
  ``rate_limit_args=BACKGROUND`` to the Bot API call, e.g.
  ``await bot.send_message(chat_id, text, rate_limit_args=BACKGROUND)``. Such a send waits while the
  shared budget is down to its reserve, so replies to people who are waiting always go first.

What it does: every message-sending call (``send*`` but ``sendChatAction``, ``copyMessage``,
``forwardMessage``) takes a token from the shared budget (bot/services/send_budget.py: PostgreSQL or
Redis, so two processes together stay within 30/s); a message to a group also waits for that group's own
limit (20 a minute, kept in this process). Other calls (edits, answers to button presses, getUpdates) pass
straight through. A 429 that still happens (another client of the token, Telegram's own judgement) waits
``retry_after`` and is tried again, at most ``max_retries`` times; then the ``RetryAfter`` propagates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.services.send_budget import LocalBudget, Priority, SendBudget, acquire

_LOGGER = logging.getLogger(__name__)

REPLY: Final = Priority.REPLY
BACKGROUND: Final = Priority.BACKGROUND

_NOT_COUNTED: Final = frozenset({"sendchataction"})
_ALSO_COUNTED: Final = frozenset({"copymessage", "copymessages", "forwardmessage", "forwardmessages"})
_GROUP_BUCKETS_KEPT: Final = 1_000

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


def counts_as_a_message(endpoint: str) -> bool:
    """Whether Telegram counts this Bot API method against the sending limits."""
    name = endpoint.lower()
    return (name.startswith("send") and name not in _NOT_COUNTED) or name in _ALSO_COUNTED


class SharedRateLimiter(BaseRateLimiter[Priority]):
    """PTB's rate limiter on a shared :class:`SendBudget`, with priorities (see the module docstring)."""

    def __init__(self, budget: SendBudget, *, group_per_minute: float = 20.0, max_retries: int = 2) -> None:
        self.budget = budget
        self.group_per_minute = group_per_minute
        self.max_retries = max_retries
        self._groups: dict[int | str, LocalBudget] = {}
        self._group_locks: dict[int | str, asyncio.Lock] = {}

    async def initialize(self) -> None:
        """Nothing to open: the budget is opened by the caller."""

    async def shutdown(self) -> None:
        """Release the budget's connections (Redis)."""
        await self.budget.close()

    async def _group_turn(self, chat_id: int | str) -> None:
        bucket = self._groups.get(chat_id)
        if bucket is None:
            if len(self._groups) >= _GROUP_BUCKETS_KEPT:
                self._groups.clear()
                self._group_locks.clear()
            capacity = max(1.0, self.group_per_minute)
            bucket = self._groups[chat_id] = LocalBudget(capacity, self.group_per_minute / 60)
            self._group_locks[chat_id] = asyncio.Lock()
        async with self._group_locks[chat_id]:
            await acquire(bucket, Priority.REPLY)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> JSONResult:
        priority = rate_limit_args if isinstance(rate_limit_args, Priority) else Priority.REPLY
        counted = counts_as_a_message(endpoint)
        chat_id = data.get("chat_id")
        in_group = (isinstance(chat_id, int) and chat_id < 0) or (
            isinstance(chat_id, str) and chat_id.startswith("@")
        )
        attempt = 0
        while True:
            if counted:
                if in_group:
                    await self._group_turn(chat_id)  # type: ignore[arg-type]
                await acquire(self.budget, priority)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt >= self.max_retries:
                    raise
                attempt += 1
                delay = error.retry_after
                seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
                _LOGGER.warning("Telegram asked to wait %.1f s (%s); trying again", seconds, endpoint)
                await asyncio.sleep(seconds)
