""" "This may be my relative": a relative's answer to an appeal opens a volunteer case linked to it.

Every appeal message (the broadcast, the first notice to a matching relative) carries the button
(:class:`handlers.buttons.AppealMine`); a channel post carries a deep link, `t.me/<bot>?start=appeal-<id>`,
that opens the same flow in a private chat. Someone who has never used the bot consents first (the appeal
is remembered in memory only, as a search asked before consent is), then the flow goes on: the bot asks
for a short message, and that message opens a case (handlers/cases.py's compose step, source "appeal",
the appeal's id in the case's search) that the volunteers see.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, filters

from bot.services.broadcast import Soldier, get_appeal
from handlers import buttons
from handlers.cases import begin_compose
from handlers.groups import HandlerGroup
from handlers.steps import entry
from handlers.turn import AmanatContext, State, Turn
from models import AppealStatus

log = logging.getLogger(__name__)

REPLY_GROUP: Final = HandlerGroup.ADMIN_FORM  # before the dialogue's own /start
DEEP_LINK: Final = re.compile(r"^/start(?:@\w+)? appeal-(\d{1,9})$")
OPEN: Final = (AppealStatus.SENDING, AppealStatus.PAUSED, AppealStatus.DONE)


async def offer_case(turn: Turn, context: AmanatContext, appeal_id: int) -> None:
    """Ask for the relative's short message; it opens a case linked to the appeal."""
    appeal = await get_appeal(context.db, appeal_id)
    if appeal is None or appeal.status not in OPEN:
        log.info(
            "appeal %s: 'this may be my relative' refused (no open appeal), user %s", appeal_id, turn.user_id
        )
        turn.say(turn.t("appeal.reply.gone"))
        return
    soldier = Soldier.from_json(appeal.soldier or {})
    search = {
        "surname": soldier.surname,
        "name": soldier.name,
        "birth_year": soldier.born,
        "birthplace": soldier.place,
        "appeal_id": appeal_id,
    }
    await begin_compose(
        context, turn, search=search, results=[], source="appeal", reading_pk=appeal.reading_pk
    )


async def on_mine(update: Update, context: AmanatContext) -> State:
    """The "This may be my relative" button under an appeal."""
    turn = context.turn
    query = update.callback_query
    press = buttons.AppealMine.decode(query.data if query is not None else None)
    if press is None:
        turn.toast = turn.t.plain("button.stale")
        return turn.state
    await offer_case(turn, context, press.appeal_id)
    return turn.state


async def on_deep_link(update: Update, context: AmanatContext) -> State:
    """/start appeal-<id> from the channel: consent first (run_step asks it), then the same flow."""
    turn = context.turn
    appeal_id = int(context.before_consent.pop("appeal", 0) or 0)
    if appeal_id:
        await offer_case(turn, context, appeal_id)
    return turn.state


_mine = entry(on_mine)
_deep_link = entry(on_deep_link)


async def _mine_then_stop(update: Update, context: AmanatContext) -> None:
    await _mine(update, context)
    raise ApplicationHandlerStop


async def _deep_link_then_stop(update: Update, context: AmanatContext) -> None:
    message = update.effective_message
    found = DEEP_LINK.match(message.text or "") if message is not None else None
    if found is not None:  # kept in memory until they consent (consent() goes on with it), else used now
        context.before_consent["appeal"] = int(found.group(1))
    await _deep_link(update, context)
    raise ApplicationHandlerStop


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the deep link's /start and the "This may be my relative" button (group REPLY_GROUP)."""
    link = filters.ChatType.PRIVATE & filters.Regex(DEEP_LINK)
    application.add_handler(CommandHandler("start", _deep_link_then_stop, filters=link), REPLY_GROUP)
    application.add_handler(CallbackQueryHandler(_mine_then_stop, pattern=r"^apm:"), REPLY_GROUP)
