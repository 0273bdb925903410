"""The memory book on the volunteers' side: ``/moderate`` shows one pending story at a time.

The card shows the soldier (the reading as read when the story is tied to one), the consent the family
gave, the story and its files (sent as photos and documents from the story store); its buttons:

* **Approve** — the story may be published (when the family's consent allows); the family is told;
* **Decline** — the volunteer's next message is the reason, which the family is shown;
* **Ask the family** — the volunteer's next message is a question, sent through a case
  (:mod:`bot.services.cases`: opened with the story's first words as the family's message, claimed by
  this volunteer, the question relayed as in any case; the family's reply comes back to them);
* **Next** — pass this one over for now.

The web board's Stories tab (bot.board, through handlers.web_board.BoardActions) decides with this
module's :func:`approve_story`, :func:`decline_story` and :func:`open_question_case`, the functions the
buttons below call. Decisions are conditional on the story still pending, so two volunteers never both
decide one, in the chat or on the board; only
volunteers (bot.services.cases.is_volunteer: configured or granted) may press or type here. The
volunteer's waiting prompt is the per-user row ``moderate`` in ``dialogue_states``.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from telegram import InputFile, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import translator
from bot.services import cases, stories
from bot.services.dialogue_state import DialogueRecord, clear_dialogue, load_dialogue, save_dialogue
from handlers import buttons
from handlers.case_views import clip
from handlers.cases import Content, relay_from_volunteer, remember_volunteer
from handlers.groups import HandlerGroup
from handlers.steps import entry
from handlers.stories import (
    MODERATION_ACTS,
    Act,
    button,
    consent_text,
    send_file_kwargs,
    soldier_of,
    storage_of,
)
from handlers.turn import AmanatContext, State, Turn, html_lines, split_message
from models.db import database_unavailable

_LOGGER = logging.getLogger(__name__)

CONVERSATION: Final = "moderate"
PRIVATE: Final = filters.ChatType.PRIVATE
PATTERN: Final = "^st:[" + "".join(sorted(act.value for act in MODERATION_ACTS)) + "]:"
MAX_REASON: Final = 1000
MAX_CAPTION: Final = 1000
CARD_TEXT: Final = 2500  # a longer story is sent in full (plain text, in parts) before its card


async def is_volunteer(context: AmanatContext, user_id: int) -> bool:
    return await cases.is_volunteer(context.db, context.services.settings.roles, user_id)


def card_rows(turn: Turn, story_id: int) -> list[list[tuple[str, str]]]:
    t = turn.t
    return [
        [button(t, "moderate.button.approve", Act.APPROVE, story_id)],
        [button(t, "moderate.button.decline", Act.DECLINE, story_id)],
        [button(t, "moderate.button.ask", Act.ASK, story_id)],
        [button(t, "moderate.button.next", Act.NEXT, story_id)],
    ]


async def show_next(context: AmanatContext, turn: Turn, *, after: int = 0) -> None:
    """The next pending story: its files first (photos and documents), then the card with the buttons."""
    story = await stories.next_pending(context.db, after=after)
    if story is None:
        turn.say(turn.t("moderate.empty" if after == 0 else "moderate.no_more"))
        return
    t = turn.t
    storage = storage_of(context)
    for item in story.items:
        caption = clip(item.caption, MAX_CAPTION) or None
        try:
            file = await send_file_kwargs(storage, item)
        except (OSError, ValueError) as error:
            _LOGGER.warning(
                "story %s: item %s missing in storage (%s)", story.id, item.id, type(error).__name__
            )
            continue
        upload = InputFile(file["data"], filename=file["name"])
        if item.kind == "photo":
            await context.bot.send_photo(turn.chat_id, upload, caption=caption, parse_mode=None)
        else:
            await context.bot.send_document(turn.chat_id, upload, caption=caption, parse_mode=None)
    if len(story.text) > CARD_TEXT:
        for part in split_message(story.text):
            await context.bot.send_message(turn.chat_id, part, parse_mode=None)
    total = await stories.pending_count(context.db)
    reading = story.reading_id
    turn.say(
        html_lines(
            t("moderate.card_title", id=story.id, total=total),
            soldier_of(t, story),
            t("moderate.card_reading", reading=reading) if reading else t("moderate.card_no_reading"),
            t("story.confirm_consent", consent=consent_text(t, story.consent)),
            t.plural("story.confirm_files", len(story.items)),
            "",
            t("moderate.card_text", text=clip(story.text, CARD_TEXT)),
        ),
        card_rows(turn, story.id),
    )


async def moderate_command(update: Update, context: AmanatContext) -> State:
    """/moderate: the longest-waiting pending story (volunteers only)."""
    turn = context.turn
    if not await is_volunteer(context, turn.user_id):
        _LOGGER.warning("/moderate from user %s refused: not a volunteer", turn.user_id)
        turn.say(turn.t("case.volunteers_only"))
        return turn.state
    await remember_volunteer(update, context)  # a case they open names them (and needs their row)
    await show_next(context, turn)
    return turn.state


async def on_button(update: Update, context: AmanatContext) -> None:
    await entry(press, needs_consent=False, final=True)(update, context)


async def press(update: Update, context: AmanatContext) -> State:
    turn = context.turn
    query = update.callback_query
    pressed = buttons.StoryButton.decode(query.data if query is not None else None)
    if pressed is None:
        turn.toast = turn.t.plain("button.unknown")
        return turn.state
    if not await is_volunteer(context, turn.user_id):
        _LOGGER.warning("moderation button from user %s refused: not a volunteer", turn.user_id)
        turn.toast = turn.t.plain("case.volunteers_only")
        return turn.state
    await remember_volunteer(update, context)
    act, story_id = Act(pressed.act), pressed.number
    story = await stories.get_story(context.db, story_id)
    if act == Act.NEXT:
        await show_next(context, turn, after=story_id)
        return turn.state
    if story is None or story.state.value != "pending" or story.withdrawn:
        turn.toast = turn.t.plain("moderate.decided_already")
        return turn.state
    if act == Act.APPROVE:
        if await approve_story(context, story_id, turn.user_id) is None:
            turn.toast = turn.t.plain("moderate.decided_already")
            return turn.state
        turn.say(turn.t("moderate.approved", id=story_id))
        await show_next(context, turn)
    elif act == Act.DECLINE:
        await wait_for(context, turn, "reason", story_id)
        turn.say(turn.t("moderate.ask_reason", id=story_id))
    elif act == Act.ASK:
        await wait_for(context, turn, "question", story_id)
        turn.say(turn.t("moderate.ask_question", id=story_id))
    return turn.state


async def wait_for(context: AmanatContext, turn: Turn, state: str, story_id: int) -> None:
    record = DialogueRecord(CONVERSATION, turn.chat_id, turn.user_id, state=state, data={"story": story_id})
    await save_dialogue(context.db, record)


# ------------------------------------------------------------------------------------ the decisions
# One code path for the chat's /moderate and the web board (handlers.web_board.BoardActions): the
# conditional decision of bot.services.stories, then the family told in their language.


async def approve_story(context: AmanatContext, story_id: int, volunteer_id: int) -> stories.StoryView | None:
    """Approve a pending story and tell the family; None when it was decided already (or withdrawn)."""
    approved = await stories.approve(context.db, story_id, volunteer_id)
    if approved is not None:
        _LOGGER.info("story %s approved by %s", story_id, volunteer_id)
        await tell_family(context, approved, "story.approved_family")
    return approved


async def decline_story(
    context: AmanatContext, story_id: int, volunteer_id: int, reason: str
) -> stories.StoryView | None:
    """Decline a pending story with the reason the family is shown; None when decided already."""
    declined = await stories.decline(context.db, story_id, volunteer_id, reason)
    if declined is not None:
        _LOGGER.info("story %s declined by %s", story_id, volunteer_id)
        await tell_family(context, declined, "story.declined_family", reason=reason)
    return declined


async def open_question_case(
    context: AmanatContext, story: stories.StoryView, volunteer_id: int, opening: str
) -> cases.CaseView | None:
    """The case through which a volunteer asks the family about their story: opened with ``opening`` and
    the story's first words as the family's message, claimed by the volunteer (the question is then
    relayed as any answer in a case). None when the claim failed (it cannot, on a case this new)."""
    search = dict(story.reading or story.soldier)
    search.pop("reading_id", None)
    case = await cases.open_case(
        context.db,
        story.person_id,
        text=opening + "\n\n" + clip(story.text, 1000),
        search=search,
        source="story",
        summary=str(search.get("surname") or ""),
        request_id=story.request_id,
    )
    claimed = await cases.claim(context.db, case.id, volunteer_id)
    if isinstance(claimed, cases.Refusal):
        return None
    _LOGGER.info("story %s: volunteer %s asks the family (case %s)", story.id, volunteer_id, case.id)
    return claimed.case


async def tell_family(context: AmanatContext, story: stories.StoryView, key: str, **args: Any) -> None:
    """A message to the family about their story, in their language (a blocked bot is only logged)."""
    lang = await cases.language_of(context.db, story.person_id)
    t = translator(lang or context.services.settings.i18n.default_language)
    try:
        await context.bot.send_message(story.person_id, t(key, id=story.id, **args))
    except (BadRequest, Forbidden) as error:
        _LOGGER.info("story %s: the family not told (%s)", story.id, type(error).__name__)


# ------------------------------------------------------------------------------------ the volunteer's text


async def on_private_message(update: Update, context: AmanatContext) -> None:
    """A volunteer's message after Decline or Ask the family; anything else is not ours."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    try:
        record = await load_dialogue(context.db, CONVERSATION, message.chat_id, user.id)
    except Exception as error:
        if not database_unavailable(error):
            raise
        return
    if not record.stored or not record.state:
        return

    async def act(update: Update, context: AmanatContext) -> State:
        await take_text(context, message, record)
        return context.turn.state

    await entry(act, needs_consent=False, final=True)(update, context)


async def on_cancel(update: Update, context: AmanatContext) -> None:
    """/cancel while a reason or a question is awaited; otherwise not ours."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    record = await load_dialogue(context.db, CONVERSATION, chat.id, user.id)
    if not record.stored or not record.state:
        return

    async def act(update: Update, context: AmanatContext) -> State:
        await clear_dialogue(context.db, CONVERSATION, chat.id, user.id)
        context.turn.say(context.turn.t("moderate.cancelled"))
        return context.turn.state

    await entry(act, needs_consent=False, final=True)(update, context)


async def take_text(context: AmanatContext, message: Message, record: DialogueRecord) -> None:
    turn = context.turn
    story_id = int(record.data.get("story") or 0)
    text = (message.text or "").strip()
    if not text:
        turn.say(turn.t("moderate.text_only"))
        return
    if len(text) > MAX_REASON:
        turn.say(turn.t("story.too_long", limit=MAX_REASON))
        return
    await clear_dialogue(context.db, CONVERSATION, turn.chat_id, turn.user_id)
    if not await is_volunteer(context, turn.user_id):
        return
    if record.state == "reason":
        if await decline_story(context, story_id, turn.user_id, text) is None:
            turn.say(turn.t("moderate.decided_already_text", id=story_id))
            return
        turn.say(turn.t("moderate.declined", id=story_id))
        await show_next(context, turn)
        return
    await ask_family(context, message, story_id, text)


async def ask_family(context: AmanatContext, message: Message, story_id: int, question: str) -> None:
    """The question goes to the family through a case, claimed by the asking volunteer."""
    turn = context.turn
    story = await stories.get_story(context.db, story_id)
    if story is None or story.withdrawn:
        turn.say(turn.t("moderate.decided_already_text", id=story_id))
        return
    opening = turn.t.plain("moderate.case_opening", id=story.id)
    case = await open_question_case(context, story, turn.user_id, opening)
    if case is None:  # cannot happen to a case opened a moment ago
        turn.say(turn.t("moderate.decided_already_text", id=story_id))
        return
    await relay_from_volunteer(context, message, case, Content("text", question))


# ------------------------------------------------------------------------------------ wiring


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add /moderate, its buttons and the volunteer's typed reason or question in group MODERATION."""
    group = HandlerGroup.MODERATION
    application.add_handler(CallbackQueryHandler(on_button, pattern=PATTERN), group)
    application.add_handler(
        CommandHandler("moderate", entry(moderate_command, needs_consent=False, final=True), filters=PRIVATE),
        group,
    )
    application.add_handler(CommandHandler("cancel", on_cancel, filters=PRIVATE), group)
    application.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_private_message), group
    )
