"""Appeals for administrators in the chat: the /appeal form and the broadcast's Pause, Resume and Cancel.

The form (`/appeal` or `/appeal <reading_id>`), one question at a time, written through to the database
(conversation "appeal" in dialogue_states, so a restart loses nothing):

    soldier (typed, unless the registry record was given) → text (≤ 1,000 characters) → photo (or Skip)
    → audience (all, a language, or a region by its historical or today's name) → a preview in each
    language the audience reads → Send (the broadcast starts; the message becomes its progress message)
    or Cancel.

Only administrators (`roles.admins`) use the form; anyone else gets a clear refusal, and every refused
command or appeal button (forged or not) is logged by user id (never by name). The states of an appeal
are drawn in handlers/appeals.mmd; the broadcaster is bot.services.broadcast.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import LANGUAGES, Translator, pick_language, translator
from bot.services.appeal_relatives import start_appeal
from bot.services.broadcast import (
    MAX_TEXT,
    AppealContent,
    AppealError,
    Audience,
    Soldier,
    appeal_progress,
    audience_languages,
    change_appeal,
    create_appeal,
    set_progress_message,
    soldier_of_reading,
)
from bot.services.dialogue_state import DialogueRecord, clear_dialogue, load_dialogue, save_dialogue
from bot.services.people import get_person
from handlers import buttons
from handlers.broadcast import progress_view, send_appeal_message, soldier_line
from handlers.groups import HandlerGroup
from handlers.steps import entry
from handlers.turn import AmanatContext, ButtonRows, State, keyboard
from models import Role

log = logging.getLogger(__name__)

APPEALS_GROUP: Final = HandlerGroup.FEATURES
FORM_GROUP: Final = HandlerGroup.ADMIN_FORM
CONTROL_PATTERN: Final = r"^apc:"
FORM_PATTERN: Final = r"^ap[fs]:"
CONVERSATION: Final = "appeal"
PRIVATE: Final = filters.ChatType.PRIVATE

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


# ------------------------------------------------------------------------------------------ the form


class Step:
    """The questions of the form, as stored in the dialogue row's state."""

    SOLDIER = "soldier"
    TEXT = "text"
    PHOTO = "photo"
    AUDIENCE = "audience"
    REGION = "region"
    PREVIEW = "preview"


async def _language(context: AmanatContext, update: Update) -> str:
    """The administrator's language: chosen in the bot, else Telegram's, else the default."""
    user = update.effective_user
    person = await get_person(context.services.db, user.id) if user is not None else None
    if person is not None and person.language in LANGUAGES:
        return person.language
    return (
        pick_language(user.language_code if user else None) or context.services.settings.i18n.default_language
    )


def _is_config_admin(context: AmanatContext, update: Update) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.services.settings.roles.admins


async def _say(context: AmanatContext, chat_id: int, text: str, rows: ButtonRows = ()) -> None:
    await context.bot.send_message(chat_id, text, reply_markup=keyboard(rows))


def _cancel_row(t: Translator) -> list[tuple[str, str]]:
    return [(t.plain("appeal.button.cancel"), buttons.AppealForm("cancel").encode())]


async def _ask(context: AmanatContext, t: Translator, record: DialogueRecord, step: str) -> None:
    """Store the step and ask its question."""
    record.state = step
    await save_dialogue(context.services.db, record)
    chat_id = record.chat_id
    if step == Step.SOLDIER:
        await _say(context, chat_id, t("appeal.form.soldier"), [_cancel_row(t)])
    elif step == Step.TEXT:
        await _say(context, chat_id, t("appeal.form.text", limit=MAX_TEXT), [_cancel_row(t)])
    elif step == Step.PHOTO:
        skip = (t.plain("appeal.button.skip"), buttons.AppealForm("skip").encode())
        await _say(context, chat_id, t("appeal.form.photo"), [[skip], _cancel_row(t)])
    elif step == Step.AUDIENCE:
        rows: ButtonRows = [
            [(t.plain("appeal.button.all"), buttons.AppealForm("all").encode())],
            [(t.plain(f"appeal.language.{lang}"), buttons.AppealForm(lang).encode()) for lang in LANGUAGES],
            [(t.plain("appeal.button.region"), buttons.AppealForm("region").encode())],
            _cancel_row(t),
        ]
        await _say(context, chat_id, t("appeal.form.audience"), rows)
    elif step == Step.REGION:
        await _say(context, chat_id, t("appeal.form.region"), [_cancel_row(t)])


def parse_soldier(text: str) -> Soldier | None:
    """ "Surname Name, year, place" (commas between the parts; only the surname is required)."""
    parts = [part.strip() for part in " ".join(text.split()).split(",")]
    words = parts[0].split(" ", 1) if parts and parts[0] else []
    if not words or not any(ch.isalpha() for ch in words[0]):
        return None
    rest = parts[1:]
    born = rest.pop(0) if rest and any(ch.isdigit() for ch in rest[0]) and len(rest[0]) <= 20 else ""
    clip = 100
    return Soldier(
        surname=words[0][:clip],
        name=(words[1] if len(words) > 1 else "")[:clip],
        born=born[:clip],
        place=", ".join(part for part in rest if part)[:200],
    )


async def appeal_command(update: Update, context: AmanatContext) -> None:
    """/appeal [reading_id]: open the form (administrators only)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    t = translator(await _language(context, update))
    if not _is_config_admin(context, update):
        log.warning("/appeal refused: user %s is not an administrator", user.id)
        await _say(context, chat.id, t("appeal.admins_only"))
        return
    db = context.services.db
    record = DialogueRecord(CONVERSATION, chat.id, user.id)
    reading_id = (context.args or [""])[0][:128]
    if reading_id:
        found = await soldier_of_reading(db, reading_id)
        if found is None:
            await _say(context, chat.id, t("appeal.form.no_reading", id=reading_id))
            await _ask(context, t, record, Step.SOLDIER)
            return
        reading_pk, soldier = found
        record.data = {"soldier": soldier.to_json(), "reading_pk": reading_pk}
        content = AppealContent(0, soldier, "")
        await _say(context, chat.id, t("appeal.form.reading", soldier=soldier_line(t, content)))
        await _ask(context, t, record, Step.TEXT)
        return
    await _ask(context, t, record, Step.SOLDIER)


async def _open_form(context: AmanatContext, update: Update) -> DialogueRecord | None:
    """The administrator's open form, or None (then the message is not the form's)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or not _is_config_admin(context, update):
        return None
    record = await load_dialogue(context.services.db, CONVERSATION, chat.id, user.id)
    return record if record.stored and record.state else None


async def on_form_message(update: Update, context: AmanatContext) -> None:
    """An administrator's message while their form is open: the answer to its current question."""
    record = await _open_form(context, update)
    if record is None:
        return  # not in the form: the relative's dialogue answers it
    message = update.effective_message
    assert message is not None
    t = translator(await _language(context, update))
    text = (message.text or "").strip()
    if record.state == Step.SOLDIER:
        soldier = parse_soldier(text) if text else None
        if soldier is None:
            await _say(context, record.chat_id, t("appeal.form.soldier_bad"))
            await _ask(context, t, record, Step.SOLDIER)
        else:
            record.data = {"soldier": soldier.to_json(), "reading_pk": None}
            await _ask(context, t, record, Step.TEXT)
    elif record.state == Step.TEXT:
        if not text:
            await _say(context, record.chat_id, t("appeal.form.text_empty"))
        elif len(text) > MAX_TEXT:
            await _say(context, record.chat_id, t("appeal.form.text_long", length=len(text), limit=MAX_TEXT))
        else:
            record.data["text"] = text
            await _ask(context, t, record, Step.PHOTO)
    elif record.state == Step.PHOTO:
        if message.photo:
            record.data["photo"] = message.photo[-1].file_id
            await _ask(context, t, record, Step.AUDIENCE)
        else:
            await _say(context, record.chat_id, t("appeal.form.photo_bad"))
    elif record.state == Step.REGION:
        try:
            audience = Audience.parse(f"region:{text}")
        except AppealError:
            await _say(context, record.chat_id, t("appeal.form.region_bad", region=text[:100]))
        else:
            await _preview(context, t, record, audience)
    else:  # the preview waits for its buttons
        await _say(context, record.chat_id, t("appeal.form.use_buttons"))
    raise ApplicationHandlerStop


async def _preview(context: AmanatContext, t: Translator, record: DialogueRecord, audience: Audience) -> None:
    """Save the draft, show it in each language its audience reads, and ask Send or Cancel."""
    db, settings = context.services.db, context.services.settings
    soldier = Soldier.from_json(record.data.get("soldier") or {})
    appeal_id = await create_appeal(
        db,
        created_by=record.user_id,
        soldier=soldier,
        text=str(record.data.get("text") or ""),
        audience=audience,
        reading_pk=record.data.get("reading_pk"),
        photo_file_id=record.data.get("photo"),
        author_language=t.lang,
    )
    record.data["appeal_id"] = appeal_id
    record.state = Step.PREVIEW
    await save_dialogue(db, record)
    readers = await audience_languages(db, audience, settings.i18n.default_language)
    content = AppealContent(appeal_id, soldier, str(record.data.get("text") or ""), record.data.get("photo"))
    for lang, count in readers.items():
        header = t("appeal.form.preview", language=t.plain(f"appeal.language.{lang}"), count=count)
        await send_appeal_message(context.bot, record.chat_id, content, lang, None, heading=header)
    total = sum(readers.values())
    if not total:
        await _say(context, record.chat_id, t("appeal.form.nobody", id=appeal_id))
    rows: ButtonRows = [
        [
            (t.plain("appeal.button.send"), buttons.AppealSend(appeal_id, True).encode()),
            (t.plain("appeal.button.cancel"), buttons.AppealSend(appeal_id, False).encode()),
        ]
    ]
    if not total:  # nobody to send to: the draft can only be cancelled
        rows = [rows[0][1:]]
    await _say(context, record.chat_id, t("appeal.form.confirm", count=total, id=appeal_id), rows)


async def on_form_button(update: Update, context: AmanatContext) -> None:
    """A button of the form: skip the photo, the audience, Send, Cancel (administrators only)."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    t = translator(await _language(context, update))
    press = buttons.decode(query.data)
    if not _is_config_admin(context, update) or not isinstance(
        press, buttons.AppealForm | buttons.AppealSend
    ):
        log.warning(
            "appeal form button refused: user %s (admin: %s)", user.id, _is_config_admin(context, update)
        )
        await query.answer(
            t.plain("appeal.admins_only" if not _is_config_admin(context, update) else "button.stale")
        )
        raise ApplicationHandlerStop
    await query.answer()
    db = context.services.db
    record = await load_dialogue(
        db, CONVERSATION, query.message.chat.id if query.message else user.id, user.id
    )
    if isinstance(press, buttons.AppealSend):
        await _send_or_cancel(update, context, t, record, press)
        raise ApplicationHandlerStop
    if press.choice == "cancel":
        await clear_dialogue(db, CONVERSATION, record.chat_id, record.user_id)
        await _say(context, record.chat_id, t("appeal.form.cancelled"))
    elif press.choice == "skip" and record.state == Step.PHOTO:
        await _ask(context, t, record, Step.AUDIENCE)
    elif press.choice == "region" and record.state == Step.AUDIENCE:
        await _ask(context, t, record, Step.REGION)
    elif press.choice in ("all", *LANGUAGES) and record.state == Step.AUDIENCE:
        audience = Audience() if press.choice == "all" else Audience("lang", press.choice)
        await _preview(context, t, record, audience)
    else:
        await _say(context, record.chat_id, t("appeal.form.stale"))
    raise ApplicationHandlerStop


async def _send_or_cancel(
    update: Update, context: AmanatContext, t: Translator, record: DialogueRecord, press: buttons.AppealSend
) -> None:
    """Send: the draft goes out and this message becomes its progress message. Cancel: it is cancelled."""
    db = context.services.db
    message = update.effective_message
    try:
        if press.yes:
            await start_appeal(
                db,
                press.appeal_id,
                registry=context.services.registry,
                progress_chat_id=record.chat_id,
                progress_message_id=message.message_id if message is not None else None,
            )
            progress = await appeal_progress(
                db, press.appeal_id, pace=context.services.settings.broadcast.rate_per_second
            )
        else:
            await change_appeal(db, press.appeal_id, "cancel")
    except AppealError as error:
        log.info(
            "appeal %s: the form's %s refused (%s)",
            press.appeal_id,
            "send" if press.yes else "cancel",
            error.code,
        )
        await _say(context, record.chat_id, t("appeal.form.stale"))
        return
    if record.data.get("appeal_id") == press.appeal_id:
        await clear_dialogue(db, CONVERSATION, record.chat_id, record.user_id)
    if message is None:
        return
    if press.yes:
        text, rows = progress_view(t, progress)
        await context.bot.edit_message_text(
            text, chat_id=record.chat_id, message_id=message.message_id, reply_markup=keyboard(rows)
        )
    else:
        await context.bot.edit_message_text(
            t("appeal.form.cancelled"), chat_id=record.chat_id, message_id=message.message_id
        )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add /appeal and its form (group FORM_GROUP, before the relative's dialogue) and the broadcast's
    buttons (group APPEALS_GROUP); a handled update stops there."""
    application.add_handler(CommandHandler("appeal", _command_then_stop, filters=PRIVATE), FORM_GROUP)
    application.add_handler(CallbackQueryHandler(on_form_button, pattern=FORM_PATTERN), FORM_GROUP)
    form_input = PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND & (filters.TEXT | filters.PHOTO)
    application.add_handler(MessageHandler(form_input, on_form_message), FORM_GROUP)
    application.add_handler(CallbackQueryHandler(_control_then_stop, pattern=CONTROL_PATTERN), APPEALS_GROUP)


async def _command_then_stop(update: Update, context: AmanatContext) -> None:
    await appeal_command(update, context)
    raise ApplicationHandlerStop
