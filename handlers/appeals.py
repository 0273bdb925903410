"""Appeals for administrators in the chat: the broadcast's Pause, Resume and Cancel buttons.

Only administrators (`roles.admins`, or the admin role) may press them; anyone else, and any forged
appeal button, is refused with a toast and logged by user id (never by name). The states of an appeal are
drawn in handlers/appeals.mmd; the broadcaster is bot.services.broadcast.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler

from bot.services.broadcast import AppealError, appeal_progress, change_appeal, set_progress_message
from handlers import buttons
from handlers.broadcast import progress_view
from handlers.groups import HandlerGroup
from handlers.steps import entry
from handlers.turn import AmanatContext, State
from models import Role

log = logging.getLogger(__name__)

APPEALS_GROUP: Final = HandlerGroup.FEATURES
CONTROL_PATTERN: Final = r"^apc:"

TOASTS: Final = {
    "pause": "appeal.toast.paused",
    "resume": "appeal.toast.resumed",
    "cancel": "appeal.toast.cancelled",
}


def is_admin(context: AmanatContext) -> bool:
    """The person of this turn is an administrator (config, or the admin role)."""
    turn = context.turn
    admins = context.services.settings.roles.admins
    return turn.user_id in admins or (turn.person is not None and turn.person.role == Role.ADMIN)


async def on_control(update: Update, context: AmanatContext) -> State:
    """Pause, Resume or Cancel under a progress message: the appeal changes, the message is redrawn."""
    turn, t = context.turn, context.turn.t
    query = update.callback_query
    press = buttons.AppealControl.decode(query.data if query is not None else None)
    if not is_admin(context):
        log.warning("appeal button refused: user %s is not an administrator", turn.user_id)
        turn.toast = t.plain("appeal.admins_only")
        return turn.state
    if press is None:
        log.warning("appeal button refused: malformed data from user %s", turn.user_id)
        turn.toast = t.plain("button.stale")
        return turn.state
    try:
        await change_appeal(context.db, press.appeal_id, press.action)  # type: ignore[arg-type]
        progress = await appeal_progress(context.db, press.appeal_id)
    except AppealError as error:
        log.info("appeal %s: %s refused (%s)", press.appeal_id, press.action, error.code)
        turn.toast = t.plain("appeal.toast.gone" if error.code == "not_found" else "appeal.toast.state")
        return turn.state
    turn.toast = t.plain(TOASTS[press.action])
    message = update.effective_message
    if message is not None:
        await set_progress_message(context.db, press.appeal_id, message.chat_id, message.message_id)
        text, rows = progress_view(t, progress)
        turn.edit(message.message_id, text, rows)
    return turn.state


_control = entry(on_control, needs_consent=False)


async def _control_then_stop(update: Update, context: AmanatContext) -> None:
    await _control(update, context)
    raise ApplicationHandlerStop


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the appeal buttons (group APPEALS_GROUP; a handled press stops there)."""
    application.add_handler(CallbackQueryHandler(_control_then_stop, pattern=CONTROL_PATTERN), APPEALS_GROUP)
