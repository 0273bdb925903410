"""Roles in the chat, for administrators: /grant volunteer, /revoke, /roles.

The person is named by a numeric id (`/grant volunteer 12345`) or, after `/grant volunteer` alone, by
forwarding one of their messages (the question waits in the database, conversation "roles"). Roles from
the configuration cannot be revoked here. Anyone else gets a clear refusal, logged by user id.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from telegram import MessageOriginUser, Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, MessageHandler, filters

from bot.i18n import LANGUAGES, Translator, pick_language, translator
from bot.services.dialogue_state import DialogueRecord, clear_dialogue, load_dialogue, save_dialogue
from bot.services.people import get_person
from bot.services.roles import RoleRefused, grant_volunteer, revoke_volunteer, roles_overview
from handlers.groups import HandlerGroup
from handlers.turn import AmanatContext, html_lines
from models import Database

log = logging.getLogger(__name__)

ROLES_GROUP: Final = HandlerGroup.ADMIN_ROLES
CONVERSATION: Final = "roles"
PRIVATE: Final = filters.ChatType.PRIVATE
MAX_USER_ID: Final = 10**15


async def _translator(context: AmanatContext, update: Update) -> Translator:
    user = update.effective_user
    person = await get_person(context.services.db, user.id) if user is not None else None
    if person is not None and person.language in LANGUAGES:
        return translator(person.language)
    code = pick_language(user.language_code if user else None)
    return translator(code or context.services.settings.i18n.default_language)


def _admin(context: AmanatContext, update: Update) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.services.settings.roles.admins


async def _refuse(update: Update, context: AmanatContext, t: Translator, what: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    log.warning("%s refused: user %s is not an administrator", what, user.id if user else "-")
    if chat is not None:
        await context.bot.send_message(chat.id, t("appeal.admins_only"))


def _user_id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and 0 < int(text) < MAX_USER_ID else None


async def _apply(
    db: Database, context: AmanatContext, t: Translator, action: str, person_id: int, by: int
) -> str:
    settings = context.services.settings
    try:
        if action == "grant":
            changed = await grant_volunteer(db, person_id, by=by, settings=settings)
            key = "roles.granted" if changed else "roles.already"
        else:
            await revoke_volunteer(db, person_id, by=by, settings=settings)
            key = "roles.revoked"
    except RoleRefused as error:
        key = f"roles.refused.{error.code}"
    log.info("roles: %s of %s by %s: %s", action, person_id, by, key)
    return str(t(key, id=person_id))


async def grant_or_revoke(update: Update, context: AmanatContext) -> None:
    """/grant volunteer [ID] and /revoke [ID]: with an id at once, else the next forwarded message names them."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    t = await _translator(context, update)
    action = "grant" if (message.text or "").startswith("/grant") else "revoke"
    if not _admin(context, update):
        await _refuse(update, context, t, f"/{action}")
        raise ApplicationHandlerStop
    args = list(context.args or [])
    if action == "grant":
        if not args or args[0].lower() != "volunteer":
            await message.reply_text(t("roles.grant_usage"))
            raise ApplicationHandlerStop
        args = args[1:]
    db = context.services.db
    if args:
        person_id = _user_id(args[0])
        answer = await _apply(db, context, t, action, person_id, user.id) if person_id else t("roles.bad_id")
        await message.reply_text(answer)
        raise ApplicationHandlerStop
    await save_dialogue(db, DialogueRecord(CONVERSATION, message.chat_id, user.id, state=action))
    await message.reply_text(t("roles.who"))
    raise ApplicationHandlerStop


async def on_message(update: Update, context: AmanatContext) -> None:
    """The message naming the person of a waiting /grant or /revoke: forwarded from them, or their id."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not _admin(context, update):
        return
    db = context.services.db
    record = await load_dialogue(db, CONVERSATION, message.chat_id, user.id)
    if not record.stored or record.state not in ("grant", "revoke"):
        return
    t = await _translator(context, update)
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        person_id: int | None = origin.sender_user.id
    elif origin is not None:  # their privacy settings hide who sent it
        await message.reply_text(t("roles.hidden"))
        raise ApplicationHandlerStop
    else:
        person_id = _user_id(message.text or "")
    if person_id is None:
        await message.reply_text(t("roles.bad_id"))
        raise ApplicationHandlerStop
    await clear_dialogue(db, CONVERSATION, message.chat_id, user.id)
    await message.reply_text(await _apply(db, context, t, str(record.state), person_id, user.id))
    raise ApplicationHandlerStop


async def show_roles(update: Update, context: AmanatContext) -> None:
    """/roles: administrators and volunteers from the configuration, and volunteers granted in the chat."""
    message = update.effective_message
    assert message is not None
    t = await _translator(context, update)
    if not _admin(context, update):
        await _refuse(update, context, t, "/roles")
        raise ApplicationHandlerStop
    overview = await roles_overview(context.services.db, context.services.settings)
    none = t.plain("roles.none")
    lines = [
        t("roles.title"),
        t("roles.admins", ids=", ".join(map(str, overview.admins)) or none),
        t("roles.config_volunteers", ids=", ".join(map(str, overview.config_volunteers)) or none),
        t("roles.granted_title") if overview.granted else t("roles.granted_none"),
        *(
            t("roles.granted_line", id=grant.person_id, by=grant.by, when=f"{grant.at:%Y-%m-%d %H:%M} UTC")
            for grant in overview.granted
        ),
    ]
    await message.reply_text(html_lines(*lines))
    raise ApplicationHandlerStop


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add /grant, /revoke, /roles and the message naming a person (group ROLES_GROUP, before the dialogue)."""
    application.add_handler(
        CommandHandler(["grant", "revoke"], grant_or_revoke, filters=PRIVATE), ROLES_GROUP
    )
    application.add_handler(CommandHandler("roles", show_roles, filters=PRIVATE), ROLES_GROUP)
    naming = PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND
    application.add_handler(MessageHandler(naming, on_message), ROLES_GROUP)
