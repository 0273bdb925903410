"""Per-user flood control: a person who sends faster than the bot answers is slowed down and told so, once.

The update processor (handlers/update_order.py) counts each person's updates that arrived and are not
handled yet. Beyond ``flood.backlog`` of them an update is flooding: the check here (handler group
``FLOOD``, before the dialogue) drops it — no search, no database write, so it costs the bot almost nothing
— and the first one of a flood gets one localized notice. The notice comes again only after the person's
backlog has emptied and they flood anew. Other people have backlogs of their own, so nobody else notices.
A pressed button that is dropped is answered silently, so the client stops its spinner.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.i18n import pick_language, translator
from bot.services.people import get_person
from handlers.groups import HandlerGroup
from handlers.turn import AmanatContext
from handlers.update_order import Flood, PerChatUpdateProcessor

_LOGGER = logging.getLogger(__name__)


async def flood_check(update: Update, context: AmanatContext) -> None:
    """Let the update through, or drop it (telling the person once per flood)."""
    processor = context.application.update_processor
    if not isinstance(processor, PerChatUpdateProcessor):
        return
    verdict = processor.flood_verdict(update)
    if verdict is Flood.HANDLE:
        return
    user = update.effective_user
    assert user is not None  # only updates with a user are counted
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        if verdict is Flood.DROP_AND_TELL:
            _LOGGER.info("user %s is flooding: their updates are dropped until they slow down", user.id)
            chat_id = update.effective_chat.id if update.effective_chat is not None else user.id
            t = translator(await _language(update, context))
            await context.bot.send_message(chat_id, t("flood.slow_down"))
    except TelegramError as error:  # the notice is a courtesy: never an error of the update
        _LOGGER.warning("flood notice to user %s not sent: %s", user.id, type(error).__name__)
    raise ApplicationHandlerStop


async def _language(update: Update, context: AmanatContext) -> str:
    """The person's chosen language after consent, else Telegram's, else the default."""
    services = context.services
    user = update.effective_user
    assert user is not None
    person = await get_person(services.db, user.id)
    if person is not None and person.consented and person.language:
        return person.language
    return pick_language(user.language_code) or services.settings.i18n.default_language


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Put the flood check in front of every other handler (group ``FLOOD``)."""
    application.add_handler(TypeHandler(Update, flood_check), HandlerGroup.FLOOD)
