"""Telegram's answers to a send, as the outbox's outcomes (bot.services.outbox), for every Bot API sender.

403 (the user blocked the bot, or deleted their account: "user is deactivated") → RecipientBlocked;
400 "chat not found" → RecipientUnknown (final; both senders mark the person inactive for either);
429 → RateLimited with Telegram's `retry_after`; anything else propagates (the caller retries it with a
back-off). Used by the outbox's sender (handlers/notifications.py) and the appeals' (handlers/broadcast.py).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.services.outbox import RateLimited, RecipientBlocked, RecipientUnknown


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@contextlib.contextmanager
def bot_api_errors() -> Iterator[None]:
    """Telegram's answers as the outbox's outcomes: 403 → RecipientBlocked, 400 "chat not found" →
    RecipientUnknown, 429 → RateLimited; anything else propagates (retried with a back-off)."""
    try:
        yield
    except Forbidden as error:
        raise RecipientBlocked(error.message) from error
    except BadRequest as error:
        if "chat not found" in error.message.lower():  # final: the chat does not exist for the bot
            raise RecipientUnknown(error.message) from error
        raise
    except RetryAfter as error:
        with warnings.catch_warnings():  # PTB 22 warns that retry_after may become a timedelta
            warnings.simplefilter("ignore")
            retry_after = error.retry_after
        raise RateLimited(_seconds(retry_after)) from error
