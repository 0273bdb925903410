"""Telegram's answers to a send, as the outbox's outcomes (bot.services.outbox), for every Bot API sender.

403 (the user blocked the bot, or deleted their account: "user is deactivated") → RecipientBlocked;
400 "chat not found" → RecipientUnknown (final; both senders mark the person inactive for either);
429 → RateLimited with Telegram's `retry_after`; anything else propagates (the caller retries it with a
back-off). Used by the outbox's sender (`BotApiSender`, here: the notifications' job and a case's relays)
and the appeals' (handlers/broadcast.py).
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Final

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import ExtBot

from bot.services.outbox import Outgoing, RateLimited, RecipientBlocked, RecipientUnknown
from handlers.rate_limiter import BACKGROUND

log = logging.getLogger(__name__)

# Telegram's longest photo caption (characters after the markup is parsed); a longer appeal goes as the
# photo and then its text (handlers/broadcast.py), a longer notification without its photo.
MAX_CAPTION: Final = 1024
TAG: Final = re.compile(r"<[^>]*>")


def plain_length(text: str) -> int:
    """How long Telegram counts an HTML text: its characters without the tags, in UTF-16 code units."""
    plain = html.unescape(TAG.sub("", text))
    return len(plain.encode("utf-16-le")) // 2


def caption_fits(text: str) -> bool:
    """Whether an HTML text fits in a photo's caption."""
    return plain_length(text) <= MAX_CAPTION


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat_not_found(error: BadRequest) -> bool:
    """Telegram's 400 for a chat that does not exist for the bot: final, never retried."""
    return "chat not found" in error.message.lower()


@contextlib.contextmanager
def bot_api_errors() -> Iterator[None]:
    """Telegram's answers as the outbox's outcomes: 403 → RecipientBlocked, 400 "chat not found" →
    RecipientUnknown, 429 → RateLimited; anything else propagates (retried with a back-off)."""
    try:
        yield
    except Forbidden as error:
        raise RecipientBlocked(error.message) from error
    except BadRequest as error:
        if _chat_not_found(error):
            raise RecipientUnknown(error.message) from error
        raise
    except RetryAfter as error:
        with warnings.catch_warnings():  # PTB 22 warns that retry_after may become a timedelta
            warnings.simplefilter("ignore")
            retry_after = error.retry_after
        raise RateLimited(_seconds(retry_after)) from error


class BotApiSender:
    """The outbox's Sender over the Bot API (python-telegram-bot): ``sendMessage``, or ``copyMessage``
    with the text as the caption when the message copies one (a relayed photo or document), or
    ``sendPhoto`` with the text as the caption when the message has a photo and the text fits one (a text
    too long for a caption goes alone: two messages could be sent twice on a retry).

    ``background``: at the shared sending budget's background priority (the notifications' job); False for
    a relay sent while its author waits for "sent" (handlers/cases.py)."""

    def __init__(self, bot: Bot, *, background: bool = True) -> None:
        self.bot = bot
        # Background priority: replies to people who are waiting go first (handlers/rate_limiter.py).
        self.limited = background and isinstance(bot, ExtBot) and bot.rate_limiter is not None

    async def send(self, message: Outgoing) -> int:
        markup = (
            InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(button.text, callback_data=button.callback_data) for button in row]
                    for row in message.buttons
                ]
            )
            if message.buttons
            else None
        )
        extra: dict[str, Any] = {"rate_limit_args": BACKGROUND} if self.limited else {}
        with bot_api_errors():
            if message.copy_of is not None:
                from_chat_id, message_id = message.copy_of
                copied = await self.bot.copy_message(
                    message.chat_id,
                    from_chat_id=from_chat_id,
                    message_id=message_id,
                    caption=message.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    **extra,
                )
                return copied.message_id
            if message.photo is not None and caption_fits(message.text):
                try:
                    shown = await self.bot.send_photo(
                        message.chat_id,
                        message.photo,
                        caption=message.text,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                        **extra,
                    )
                    return shown.message_id
                except BadRequest as error:
                    if _chat_not_found(error):
                        raise
                    # a photo Telegram no longer knows must not keep the notice from the relative
                    log.warning("the photo was refused (%s): the text goes alone", error.message)
            sent = await self.bot.send_message(
                message.chat_id,
                message.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
                **extra,
            )
            return sent.message_id
