"""Running one step of a dialogue: load the turn, call the state callback, write through, then reply.

:func:`run_step`

1. loads the person and the dialogue state row for this chat and user (:class:`DialogueStore`),
2. calls the callback (``async def name(update, context) -> State``), which queues replies,
3. writes the new state through to the database if it changed, and only then
4. sends the queued replies (a crash before 4 loses a reply, never the state; the user's next message
   is understood at the step the database says).

A failure anywhere in the step is answered here, inside the turn, in the person's chosen language (the
application's error handler gets a fresh context without the turn, so it only logs); then the error goes
on to that handler. :func:`entry` wraps a callback for a PTB handler of its own (features outside the
dialogue component: notifications' buttons, /stats).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import ApplicationHandlerStop

from bot.i18n import translator
from handlers import views
from handlers.dialogue_store import DialogueStore
from handlers.turn import (
    AmanatContext,
    HandlerCallback,
    ReplyNotDelivered,
    Services,
    StateCallback,
    Turn,
    flush,
)
from models.db import database_unavailable

_LOGGER = logging.getLogger(__name__)


def store_for(services: Services) -> DialogueStore:
    """The dialogue store on the application's database."""
    return DialogueStore(services.db, services.settings.i18n.default_language)


async def run_step(
    update: Update,
    context: AmanatContext,
    callback: StateCallback,
    *,
    store: DialogueStore,
    needs_consent: bool = True,
) -> None:
    """Load, call, write through, reply; a failure is answered in the person's language and re-raised."""
    turn: Turn | None = None
    try:
        turn = await store.load(update)
        context._turn = turn
        if needs_consent and not turn.consented:
            views.ask_consent(turn)
        else:
            before = turn.dialogue.snapshot()
            new_state = await callback(update, context)
            turn.dialogue.state = new_state.value
            await store.save(turn, before)
            turn.saved = True
        await _deliver(update, context, turn)
    except Exception as error:
        await answer_failure(update, context, turn, error, store.fallback_language(update))
        raise


async def _deliver(update: Update, context: AmanatContext, turn: Turn) -> None:
    """Send the replies; after a 500 or a time-out once more (the step is stored, so they must come)."""
    try:
        await flush(update, context, turn)
    except NetworkError as error:
        if isinstance(error, BadRequest):
            raise
        _LOGGER.info("a reply failed (%s); sending the rest once more", type(error).__name__)
        try:
            await flush(update, context, turn)
        except NetworkError as again:
            if isinstance(again, BadRequest) or not turn.saved:
                raise
            raise ReplyNotDelivered(turn.t.lang) from again


async def answer_failure(
    update: Update, context: AmanatContext, turn: Turn | None, error: Exception, fallback_language: str
) -> None:
    """Tell the person the step failed, in their language (never raises: the error is logged elsewhere)."""
    lang = turn.t.lang if turn is not None else fallback_language
    # Never "your answers are saved": the failed step was rolled back, and when the database is away,
    # nothing this update did was stored.
    if database_unavailable(error):
        key = "error.database"
    elif isinstance(error, ReplyNotDelivered):  # taken and stored; only the reply was lost
        key = "error.reply_lost"
    else:
        key = "error.internal"
    try:
        query = update.callback_query
        if query is not None and (turn is None or not turn.toast_sent):
            await query.answer()
        chat = update.effective_chat
        if chat is not None and chat.type == "private":
            await context.bot.send_message(chat.id, translator(lang)(key))
    except Exception as reply_error:  # the error report itself must never raise
        _LOGGER.warning("could not tell the user about the error: %s", type(reply_error).__name__)


def entry(callback: StateCallback, *, needs_consent: bool = True, final: bool = False) -> HandlerCallback:
    """Wrap a state callback into a PTB handler callback that runs it as one step.

    ``final``: the update stops there (ApplicationHandlerStop), so that no handler of a later group (the
    relative's dialogue, the answer to unknown input) answers it again.
    """

    async def handle(update: Update, context: AmanatContext) -> None:
        await run_step(
            update, context, callback, store=store_for(context.services), needs_consent=needs_consent
        )
        if final:
            raise ApplicationHandlerStop

    handle.__name__ = getattr(callback, "__name__", "handle")
    handle.__doc__ = callback.__doc__
    return handle
