"""The memory book on the family's side: ``/story`` (and "Tell his story" under a found match or a closed
case), the story in ``/my`` with Withdraw, and the files of a story downloaded and made safe.

The steps (the per-user row ``story`` in ``dialogue_states``, so a restart loses nothing)::

    /story ─▶ text ─▶ files (photos, albums, PDFs, each with a caption; Done) ─▶ consent (named /
    anonymous / units only) ─▶ confirm (Send / Cancel) ─▶ pending, for a volunteer's /moderate

A file is fetched through the Bot API (getFile, then the download), checked and re-encoded by
:mod:`bot.services.story_files` and kept in the story store (``stories.storage_dir``, or the S3 bucket of ``stories.s3``); one that is too large (by the size
Telegram reports, before downloading) or not a photo or a PDF is refused with the reason and nothing is
kept. Cancel throws the draft and its files away. The handlers run in group ``STORIES``, after the cases
(a reply to a case message stays the case's) and before the dialogue, and take a private message only
while the person's ``story`` row waits for one; anything else falls through untouched. Volunteers'
/moderate is handlers/moderation.py, which shares this module's row and buttons.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from markupsafe import Markup
from telegram import Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translator, translator
from bot.services import review, stories
from bot.services.dialogue_state import DialogueRecord, clear_dialogue, load_dialogue, save_dialogue
from bot.services.story_files import Prepared, Refused, StoryStore, prepare
from handlers import buttons
from handlers.case_views import clip, soldier_line
from handlers.cases import latest_search
from handlers.groups import HandlerGroup
from handlers.steps import entry
from handlers.turn import AmanatContext, ButtonRows, State, Turn, html_lines
from models import StoryConsent, StoryState
from models.base import utcnow
from models.db import database_unavailable

_LOGGER = logging.getLogger(__name__)

CONVERSATION: Final = "story"
COMMANDS: Final = ("story",)  # in the private chats' menu when volunteers are configured
MAX_TEXT: Final = 10_000  # above Telegram's 4,096: a long paste arrives in parts, joined (JOIN_WITHIN)
JOIN_WITHIN: Final = timedelta(seconds=60)  # a text this soon after the story's last text part continues it
TELEGRAM_TEXT: Final = 4096  # UTF-16 code units: a part this long was cut where it stood, mid-word maybe
MAX_CAPTION: Final = 300
IDLE_FOR: Final = timedelta(hours=24)  # a story left unfinished this long is thrown away


class Act(StrEnum):
    """What a story button does (``handlers.buttons.StoryButton.act``)."""

    DONE = "d"  # no more files
    NAMED = "n"
    ANONYMOUS = "a"
    UNITS_ONLY = "u"
    SEND = "s"  # confirm: send for review
    CANCEL = "x"  # throw the draft away
    OPEN = "o"  # /my: one story
    WITHDRAW = "w"  # asks first
    WITHDRAW_YES = "y"
    FROM_MATCH = "b"  # "tell his story" under a notified match's record (number: the match)
    FROM_CASE = "c"  # "tell his story" when a case is closed (number: the case; built in handlers/cases.py)
    APPROVE = "p"  # volunteers (handlers/moderation.py)
    DECLINE = "r"
    ASK = "q"
    NEXT = "k"


MODERATION_ACTS: Final = frozenset({Act.APPROVE, Act.DECLINE, Act.ASK, Act.NEXT})
CONSENTS: Final = {
    Act.NAMED: StoryConsent.NAMED,
    Act.ANONYMOUS: StoryConsent.ANONYMOUS,
    Act.UNITS_ONLY: StoryConsent.UNITS_ONLY,
}


def button(t: Translator, key: str, act: Act, number: int, **args: object) -> tuple[str, str]:
    return t.plain(key, **args), buttons.StoryButton(act.value, number).encode()


def storage_of(context: AmanatContext) -> StoryStore:
    """The store of the memory book's files (the directory or the S3 bucket), built with the Application."""
    return context.services.story_store


def consent_text(t: Translator, consent: StoryConsent | None) -> Markup:
    return t(f"story.consent.{consent.value}") if consent is not None else t("story.consent.none")


def state_text(t: Translator, story: stories.StoryView) -> Markup:
    if story.withdrawn:
        return t("story.state.withdrawn")
    return t(f"story.state.{story.state.value}")


def soldier_of(t: Translator, story: stories.StoryView) -> Markup:
    return soldier_line(t, story.reading or story.soldier)


async def row_of(context: AmanatContext, turn: Turn) -> DialogueRecord:
    return await load_dialogue(context.db, CONVERSATION, turn.chat_id, turn.user_id)


async def set_row(context: AmanatContext, turn: Turn, state: str, data: dict[str, Any]) -> None:
    data = {**data, "at": utcnow().isoformat()}
    record = DialogueRecord(CONVERSATION, turn.chat_id, turn.user_id, state=state, data=data)
    await save_dialogue(context.db, record)


async def clear_row(context: AmanatContext, turn: Turn) -> None:
    await clear_dialogue(context.db, CONVERSATION, turn.chat_id, turn.user_id)


# ------------------------------------------------------------------------------------ starting


async def begin(
    context: AmanatContext,
    turn: Turn,
    soldier: dict[str, Any],
    *,
    reading_pk: int | None = None,
    request_id: int | None = None,
) -> None:
    """Ask for the story's text; the next message is it."""
    await set_row(
        context,
        turn,
        "text",
        {"soldier": soldier, "reading_pk": reading_pk, "request_id": request_id},
    )
    turn.say(
        turn.t("story.ask_text", about=soldier_line(turn.t, soldier), limit=MAX_TEXT),
        [[button(turn.t, "story.button.cancel", Act.CANCEL, 0)]],
    )


async def story_command(update: Update, context: AmanatContext) -> State:
    """/story: tell about the soldier of the person's latest search."""
    turn = context.turn
    search, request_id = await latest_search(context, turn)
    if not search.get("surname"):
        turn.say(turn.t("story.need_search"))
        return turn.state
    await begin(context, turn, stories.soldier_of_search(search), request_id=request_id)
    return turn.state


async def from_match(context: AmanatContext, turn: Turn, match_id: int) -> None:
    """ "Tell his story" under a match: the story is tied to that reading (only the presser's own match)."""
    item = await review.request_of_match(context.db, turn.user_id, match_id)
    if item is None:
        turn.toast = turn.t.plain("button.stale")
        return
    soldier = await stories.soldier_of_reading(context.db, item.reading_pk) or {}
    await begin(context, turn, soldier, reading_pk=item.reading_pk, request_id=item.request_id)


async def from_case(context: AmanatContext, turn: Turn, case_id: int) -> None:
    """ "Tell his story" when a case was closed: about the soldier of that case (only the family's own)."""
    found = await stories.soldier_of_case(context.db, turn.user_id, case_id)
    if found is None:
        turn.toast = turn.t.plain("button.stale")
        return
    soldier, reading_pk, request_id = found
    if reading_pk is not None:
        soldier = await stories.soldier_of_reading(context.db, reading_pk) or soldier
    await begin(context, turn, soldier, reading_pk=reading_pk, request_id=request_id)


def story_button(t: Translator, match_id: int) -> tuple[str, str]:
    """The "Tell his story" button under a match notification (handlers/notifications.py)."""
    return button(t, "story.button.tell", Act.FROM_MATCH, match_id)


# ------------------------------------------------------------------------------------ messages


async def on_private_message(update: Update, context: AmanatContext) -> None:
    """A private message: the story's while the person's row waits for one, else not ours."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    try:
        record = await load_dialogue(context.db, CONVERSATION, message.chat_id, user.id)
    except Exception as error:
        if not database_unavailable(error):
            raise
        return  # the dialogue's step answers "try again later" in their language
    if not record.stored or not record.state:
        return
    if abandoned(record):  # the draft is thrown away; the message is the dialogue's
        await clear_dialogue(context.db, CONVERSATION, message.chat_id, user.id)
        story_id = int(record.data.get("story") or 0)
        if story_id:
            await stories.discard_draft(context.db, storage_of(context), user.id, story_id)
        return

    async def act(update: Update, context: AmanatContext) -> State:
        await take_message(context, message, record)
        return context.turn.state

    await entry(act, needs_consent=False, final=True)(update, context)


def abandoned(record: DialogueRecord) -> bool:
    """Whether the story being written was left alone longer than :data:`IDLE_FOR`."""
    try:
        at = datetime.fromisoformat(str(record.data.get("at")))
    except ValueError:
        return True
    return utcnow() - at > IDLE_FOR


async def on_cancel(update: Update, context: AmanatContext) -> None:
    """/cancel while a story is being written: the draft is thrown away; otherwise not ours."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    record = await load_dialogue(context.db, CONVERSATION, chat.id, user.id)
    if not record.stored or not record.state:
        return

    async def act(update: Update, context: AmanatContext) -> State:
        await cancel(context, context.turn, record)
        return context.turn.state

    await entry(act, needs_consent=False, final=True)(update, context)


async def cancel(context: AmanatContext, turn: Turn, record: DialogueRecord) -> None:
    story_id = int(record.data.get("story") or 0)
    await clear_row(context, turn)
    if story_id:
        await stories.discard_draft(context.db, storage_of(context), turn.user_id, story_id)
    turn.say(turn.t("story.cancelled"))


async def take_message(context: AmanatContext, message: Message, record: DialogueRecord) -> None:
    turn = context.turn
    if not turn.consented:  # /forget meanwhile: nothing is kept
        await clear_row(context, turn)
        return
    if record.state == "text":
        await take_text(context, message, record)
    elif record.state == "files":
        await take_file_or_caption(context, message, record)
    else:  # consent or confirm: buttons are expected
        turn.say(turn.t("story.use_buttons"), await step_rows(context, turn, record))


async def take_text(context: AmanatContext, message: Message, record: DialogueRecord) -> None:
    turn = context.turn
    cut = hard_cut(message)
    text = (message.text or "").lstrip() if cut else (message.text or "").strip()
    if not text.strip():
        turn.say(turn.t("story.text_first"))
        return
    if len(text) > MAX_TEXT:
        turn.say(turn.t("story.too_long", limit=MAX_TEXT))
        return
    user = message.from_user
    story = await stories.create_draft(
        context.db,
        turn.user_id,
        text=text,
        soldier=dict(record.data.get("soldier") or {}),
        reading_pk=record.data.get("reading_pk"),
        request_id=record.data.get("request_id"),
        family_name=user.first_name if user is not None else None,
    )
    _LOGGER.info("story %s: draft by %s", story.id, turn.user_id)
    await set_row(
        context,
        turn,
        "files",
        {"story": story.id, "albums": {}, "text_at": message.date.isoformat(), "hard_cut": cut},
    )
    limit = context.services.settings.stories
    turn.say(
        turn.t("story.ask_files", count=limit.max_items, mb=f"{limit.max_file_mb:g}"),
        [[button(turn.t, "story.button.done", Act.DONE, story.id)]],
    )


def hard_cut(message: Message) -> bool:
    """Whether a text part fills a whole Telegram message: the client cut it with no space to cut at, so
    the next part goes on from the very next character (a shorter part was cut at a line end or a space,
    which Telegram trims, and the next part starts a new line)."""
    return len((message.text or "").encode("utf-16-le")) // 2 >= TELEGRAM_TEXT


def continues_text(message: Message, record: DialogueRecord) -> bool:
    """Whether a text in the files step is the next part of the story's text: Telegram cuts a long paste
    into messages of 4,096 characters that arrive one after another, so a text that comes within
    :data:`JOIN_WITHIN` of the text's last part (by Telegram's own dates), before any file, continues it."""
    try:
        last = datetime.fromisoformat(str(record.data.get("text_at")))
    except ValueError:
        return False
    return message.date - last <= JOIN_WITHIN


async def join_text(context: AmanatContext, message: Message, record: DialogueRecord, story_id: int) -> None:
    """Add the next part of a long story to its text (up to :data:`MAX_TEXT`; a part beyond it is refused
    with the limit and the text so far is kept)."""
    turn = context.turn
    done_row = [[button(turn.t, "story.button.done", Act.DONE, story_id)]]
    after_cut = bool(record.data.get("hard_cut"))
    cut = hard_cut(message)
    raw = message.text or ""
    more = raw if after_cut else raw.lstrip()  # the start is kept as it is only right after a hard cut
    if not cut:
        more = more.rstrip()  # the end is kept only when the next part goes on from it
    joined = await stories.append_text(
        context.db, turn.user_id, story_id, more, limit=MAX_TEXT, joint="" if after_cut else "\n"
    )
    if joined is None:
        turn.say(turn.t("story.too_long", limit=MAX_TEXT), done_row)
        return
    record_data = {**record.data, "text_at": message.date.isoformat(), "hard_cut": cut}
    await set_row(context, turn, "files", record_data)
    _LOGGER.info("story %s: the text continued (%s characters)", story_id, len(joined.text))
    turn.say(turn.t("story.text_joined", count=len(joined.text), limit=MAX_TEXT), done_row)


def attachment_of(message: Message) -> tuple[str, int | None] | None:
    """The file id and the size Telegram reports of a photo (its largest size) or a document."""
    if message.photo:
        largest = message.photo[-1]
        return largest.file_id, largest.file_size
    if message.document is not None:
        return message.document.file_id, message.document.file_size
    return None


async def download(context: AmanatContext, file_id: str) -> bytes:
    """A file's bytes through the Bot API: getFile, then the download of its file_path."""
    telegram_file = await context.bot.get_file(file_id)
    return bytes(await telegram_file.download_as_bytearray())


async def take_file_or_caption(context: AmanatContext, message: Message, record: DialogueRecord) -> None:
    turn = context.turn
    story_id = int(record.data.get("story") or 0)
    done_row = [[button(turn.t, "story.button.done", Act.DONE, story_id)]]
    if message.text is not None:
        if await stories.item_count(context.db, story_id) == 0 and continues_text(message, record):
            await join_text(context, message, record, story_id)
            return
        caption = message.text.strip()
        if len(caption) > MAX_CAPTION:
            turn.say(turn.t("story.caption_too_long", limit=MAX_CAPTION), done_row)
        elif await stories.caption_last_item(context.db, story_id, caption):
            turn.say(turn.t("story.caption_set"), done_row)
        else:
            turn.say(turn.t("story.send_files_or_done"), done_row)
        return
    attachment = attachment_of(message)
    if attachment is None:
        turn.say(turn.t("story.refused.not_supported"), done_row)
        return
    limits = context.services.settings.stories
    if await stories.item_count(context.db, story_id) >= limits.max_items:
        turn.say(turn.t("story.too_many", count=limits.max_items), done_row)
        return
    caption = (message.caption or "").strip()
    albums: dict[str, str] = dict(record.data.get("albums") or {})
    group = message.media_group_id
    if group and caption:
        albums[group] = caption
        await set_row(context, turn, "files", {**record.data, "albums": albums})
    elif group:
        caption = albums.get(group, "")
    if len(caption) > MAX_CAPTION:
        turn.say(turn.t("story.caption_too_long", limit=MAX_CAPTION), done_row)
        return
    file_id, size = attachment
    max_bytes = int(limits.max_file_mb * 1024 * 1024)
    prepared: Prepared | Refused
    if size is not None and size > max_bytes:
        prepared = Refused.TOO_LARGE
    else:
        try:
            data = await download(context, file_id)
        except TelegramError as error:  # e.g. "file is too big" from Telegram itself
            _LOGGER.info("story %s: a file could not be downloaded (%s)", story_id, type(error).__name__)
            prepared = Refused.TOO_LARGE if "too big" in str(error).lower() else Refused.BROKEN
        else:
            prepared = prepare(data, max_bytes=max_bytes, max_side=limits.max_photo_side)
    if isinstance(prepared, Refused):
        _LOGGER.info("story %s: a file refused (%s)", story_id, prepared.value)
        turn.say(
            turn.t(f"story.refused.{prepared.value}", mb=f"{limits.max_file_mb:g}"),
            done_row,
        )
        return
    path = await storage_of(context).save(story_id, prepared)
    await stories.add_item(
        context.db,
        story_id,
        kind=prepared.kind,
        path=path,
        caption=caption,
        sha256=prepared.sha256,
        size=len(prepared.data),
    )
    count = await stories.item_count(context.db, story_id)
    key = "story.file_taken" if caption else "story.file_taken_no_caption"
    turn.say(turn.t(key, n=count, caption=clip(caption, 80)), done_row)


async def step_rows(context: AmanatContext, turn: Turn, record: DialogueRecord) -> ButtonRows:
    story_id = int(record.data.get("story") or 0)
    if record.state == "consent":
        return consent_rows(turn.t, story_id)
    if record.state == "confirm":
        return confirm_rows(turn.t, story_id)
    return [[button(turn.t, "story.button.cancel", Act.CANCEL, story_id)]]


def consent_rows(t: Translator, story_id: int) -> ButtonRows:
    return [
        [button(t, "story.button.named", Act.NAMED, story_id)],
        [button(t, "story.button.anonymous", Act.ANONYMOUS, story_id)],
        [button(t, "story.button.units_only", Act.UNITS_ONLY, story_id)],
        [button(t, "story.button.cancel", Act.CANCEL, story_id)],
    ]


def confirm_rows(t: Translator, story_id: int) -> ButtonRows:
    return [
        [button(t, "story.button.send", Act.SEND, story_id)],
        [button(t, "story.button.cancel", Act.CANCEL, story_id)],
    ]


# ------------------------------------------------------------------------------------ buttons


async def on_button(update: Update, context: AmanatContext) -> None:
    """A story button, the family's or a volunteer's."""
    await entry(press, needs_consent=False, final=True)(update, context)


async def press(update: Update, context: AmanatContext) -> State:
    turn = context.turn
    query = update.callback_query
    pressed = buttons.StoryButton.decode(query.data if query is not None else None)
    if pressed is None:
        _LOGGER.warning("forged story button from user %s refused", turn.user_id)
        turn.toast = turn.t.plain("button.unknown")
        return turn.state
    act = Act(pressed.act)
    if act in MODERATION_ACTS or not turn.consented:  # volunteers' buttons are handlers/moderation.py's
        turn.toast = turn.t.plain("button.stale")
        return turn.state
    if act == Act.FROM_MATCH:
        await from_match(context, turn, pressed.number)
    elif act == Act.FROM_CASE:
        await from_case(context, turn, pressed.number)
    elif act in (Act.OPEN, Act.WITHDRAW, Act.WITHDRAW_YES):
        await my_story_press(update, context, act, pressed.number)
    else:
        await draft_press(context, turn, act, pressed.number)
    return turn.state


async def draft_press(context: AmanatContext, turn: Turn, act: Act, story_id: int) -> None:
    """Done, a consent, Send or Cancel: only for the step the person's row is at, and their own draft."""
    record = await row_of(context, turn)
    current = int(record.data.get("story") or 0)
    if act == Act.CANCEL and record.state is not None and (story_id in (0, current)):
        await cancel(context, turn, record)
        return
    if current != story_id or not record.state:
        turn.toast = turn.t.plain("button.stale")
        return
    if act == Act.DONE and record.state == "files":
        await set_row(context, turn, "consent", {"story": story_id})
        turn.say(turn.t("story.ask_consent"), consent_rows(turn.t, story_id))
    elif act in CONSENTS and record.state == "consent":
        if not await stories.set_consent(context.db, turn.user_id, story_id, CONSENTS[act]):
            turn.toast = turn.t.plain("button.stale")
            return
        story = await stories.get_own(context.db, turn.user_id, story_id)
        assert story is not None
        await set_row(context, turn, "confirm", {"story": story_id})
        turn.say(
            html_lines(
                turn.t("story.confirm_title"),
                soldier_of(turn.t, story),
                turn.t("story.confirm_text", text=clip(story.text, 300)),
                turn.t.plural("story.confirm_files", len(story.items)),
                turn.t("story.confirm_consent", consent=consent_text(turn.t, story.consent)),
            ),
            confirm_rows(turn.t, story_id),
        )
    elif act == Act.SEND and record.state == "confirm":
        story = await stories.submit(context.db, turn.user_id, story_id)
        await clear_row(context, turn)
        if story is None:
            turn.toast = turn.t.plain("button.stale")
            return
        _LOGGER.info("story %s: sent for review", story.id)
        turn.say(turn.t("story.sent", id=story.id))
        await tell_volunteers(context, story.id)
    else:
        turn.toast = turn.t.plain("button.stale")


async def tell_volunteers(context: AmanatContext, story_id: int) -> None:
    """A short notice in the volunteers' group (if there is one) that a story waits for /moderate."""
    group = context.services.settings.roles.volunteer_chat_id
    if not group:
        return
    t = translator(context.services.settings.i18n.default_language)
    try:
        await context.bot.send_message(group, t("moderate.new_story", id=story_id))
    except (BadRequest, Forbidden) as error:
        _LOGGER.info("story %s: volunteers not told (%s)", story_id, type(error).__name__)


# ------------------------------------------------------------------------------------ /my


async def my_story_rows(context: AmanatContext, turn: Turn) -> list[list[tuple[str, str]]]:
    """The /my buttons of the person's sent stories (handlers/people.py puts them under the searches)."""
    rows: list[list[tuple[str, str]]] = []
    for story in await stories.stories_of(context.db, turn.user_id):
        name = clip(story.soldier_name or turn.t.plain("story.untitled"), 40)
        rows.append(
            [
                button(
                    turn.t,
                    "story.button.open",
                    Act.OPEN,
                    story.id,
                    name=name,
                    state=turn.t.plain(
                        f"story.state.{'withdrawn' if story.withdrawn else story.state.value}"
                    ),
                )
            ]
        )
    return rows


def story_card(t: Translator, story: stories.StoryView) -> Markup:
    lines: list[str | None] = [
        t("story.card_title", id=story.id),
        soldier_of(t, story),
        t("story.card_state", state=state_text(t, story)),
        t("story.confirm_consent", consent=consent_text(t, story.consent)),
    ]
    if story.state == StoryState.DECLINED and story.decline_reason:
        lines.append(t("story.card_reason", reason=story.decline_reason))
    lines.append(t("story.confirm_text", text=clip(story.text, 600)))
    lines.append(t.plural("story.confirm_files", len(story.items)))
    return html_lines(*lines)


async def my_story_press(update: Update, context: AmanatContext, act: Act, story_id: int) -> None:
    turn = context.turn
    story = await stories.get_own(context.db, turn.user_id, story_id)
    if story is None or story.state == StoryState.DRAFT:
        turn.toast = turn.t.plain("button.stale")
        return
    if act == Act.OPEN:
        rows = [] if story.withdrawn else [[button(turn.t, "story.button.withdraw", Act.WITHDRAW, story.id)]]
        turn.say(story_card(turn.t, story), rows)
    elif act == Act.WITHDRAW:
        if story.withdrawn:
            turn.toast = turn.t.plain("story.withdrawn_already")
            return
        turn.say(
            turn.t("story.withdraw_ask", id=story.id),
            [[button(turn.t, "story.button.withdraw_yes", Act.WITHDRAW_YES, story.id)]],
        )
    else:
        withdrawn = await stories.withdraw(context.db, turn.user_id, story.id)
        if withdrawn is None:
            turn.toast = turn.t.plain("story.withdrawn_already")
            return
        _LOGGER.info("story %s: withdrawn by the family", story.id)
        turn.say(turn.t("story.withdrawn", id=story.id))


# ------------------------------------------------------------------------------------ /forget


async def forget_stories(context: AmanatContext, person_id: int) -> None:
    """/forget: the person's stories, drafts and files are erased (handlers/people.py)."""
    await clear_dialogue(context.db, CONVERSATION, person_id, person_id)
    count = await stories.forget_stories(context.db, storage_of(context), person_id)
    if count:
        _LOGGER.info("forget: %s stories of a person erased", count)


async def send_file_kwargs(storage: StoryStore, item: stories.ItemView) -> dict[str, Any]:
    """The file of a stored item for sendPhoto / sendDocument (handlers/moderation.py)."""
    return {"data": await storage.read(item.path), "name": Path(item.path).name}


# ------------------------------------------------------------------------------------ wiring

PRIVATE: Final = filters.ChatType.PRIVATE
PATTERN: Final = r"^st:"  # handlers.buttons.StoryButton


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the family's side of the memory book in group STORIES (after the cases, before the dialogue)."""
    group = HandlerGroup.STORIES
    application.add_handler(CallbackQueryHandler(on_button, pattern=PATTERN), group)
    application.add_handler(CommandHandler("story", entry(story_command, final=True), filters=PRIVATE), group)
    application.add_handler(CommandHandler("cancel", on_cancel, filters=PRIVATE), group)
    application.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_private_message), group
    )
