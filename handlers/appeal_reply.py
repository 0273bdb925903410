""" "This may be my relative": a relative's answer to an appeal opens a volunteer case linked to it.

Every appeal message (the broadcast, the first notice to a matching relative) carries the button
(:class:`handlers.buttons.AppealMine`); a channel post carries a deep link, `t.me/<bot>?start=appeal-<id>`,
that opens the same flow in a private chat. Someone who has never used the bot consents first (the appeal
is remembered in memory only, as a search asked before consent is), then the flow goes on: the bot asks
for a short message, and that message opens a case (handlers/cases.py's compose step, source "appeal",
the appeal's id in the case's search) that the volunteers see.

The other direction (:func:`tell_of_open_appeals`, the dialogue's hook after a search is saved): when the
search just saved fits an open appeal's soldier (bot.services.appeal_relatives.open_appeals_fitting, the
engine in reverse), the relative is told at once, in their language, that a search unit is looking for
this man's family, with the reasons, strongest first; and a case linked to the appeal opens through the
same `open_from` as the button's flow, its first message saying which search fitted (in the language
of the volunteers' board: the relative wrote nothing yet). An appeal the
relative was told of already (a first notice, a case) is left out, so saving again changes nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import translator
from bot.services.appeal_relatives import (
    CASE_SOURCE,
    OPEN_APPEALS,
    appeals_told,
    case_search,
    open_appeals_fitting,
)
from bot.services.broadcast import get_appeal
from bot.services.locks import job_lock
from bot.services.outbox import Outgoing
from handlers import buttons
from handlers.cases import begin_compose, open_from
from handlers.groups import HandlerGroup
from handlers.notifications import appeal_match_text
from handlers.sending import BotApiSender
from handlers.steps import entry
from handlers.turn import AmanatContext, State, Turn, flush

log = logging.getLogger(__name__)

REPLY_GROUP: Final = HandlerGroup.ADMIN_FORM  # before the dialogue's own /start
DEEP_LINK: Final = re.compile(r"^/start(?:@\w+)? appeal-(\d{1,9})$")


async def offer_case(turn: Turn, context: AmanatContext, appeal_id: int) -> None:
    """Ask for the relative's short message; it opens a case linked to the appeal."""
    appeal = await get_appeal(context.db, appeal_id)
    if appeal is None or appeal.status not in OPEN_APPEALS:
        log.info(
            "appeal %s: 'this may be my relative' refused (no open appeal), user %s", appeal_id, turn.user_id
        )
        turn.say(turn.t("appeal.reply.gone"))
        return
    await begin_compose(
        context,
        turn,
        search=case_search(appeal),
        results=[],
        source=CASE_SOURCE,
        reading_pk=appeal.reading_pk,
    )


async def tell_of_open_appeals(update: Update, context: AmanatContext, request_id: int) -> None:
    """A search was just saved (handlers/results.py): if it fits an open appeal's soldier, tell the
    relative at once and open a case linked to the appeal; nothing when no appeal fits or they were told."""
    turn, db = context.turn, context.db
    fits = await open_appeals_fitting(db, turn.user_id, request_id, registry=context.services.registry)
    if not fits:
        return
    # One check-and-open at a time for this person, also across processes (two saves at once).
    async with job_lock(db, f"appeal-fit:{turn.user_id}") as lock:
        if not lock.acquired:
            return
        told = await appeals_told(db, turn.user_id, [found.appeal.id for found in fits])
        # The case's first message says what opened it, in the volunteers' board's language.
        volunteers_t = translator(context.services.settings.i18n.default_language)
        await flush(update, context, turn)  # "saved" first, then the news, then the case's number
        for found in fits:
            if found.appeal.id in told:
                continue
            log.info(
                "appeal %s: saved search %s fits it; user %s told", found.appeal.id, request_id, turn.user_id
            )
            notice = appeal_match_text(found.payload, turn.t.lang, title="appeal.found.title")
            # as the first notice goes: with the appeal's photo, the notice as its caption (text alone when
            # it is too long for one, or Telegram refuses the photo)
            await BotApiSender(context.bot, background=False).send(
                Outgoing(turn.chat_id, notice, photo=found.appeal.photo_file_id)
            )
            note = volunteers_t.plain("appeal.found.case_text", id=found.appeal.id, request=found.fit.summary)
            await open_from(
                context,
                turn,
                note,
                search=case_search(found.appeal),
                results=[],
                source=CASE_SOURCE,
                request_id=request_id,
                reading_pk=found.appeal.reading_pk,
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
