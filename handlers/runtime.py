"""The relative's dialogue runtime: a per-update turn with state read from and written to the database.

Every Telegram handler of the dialogue is wrapped by :func:`entry`, which

1. loads the person and the dialogue state row for this chat and user (never a process-local cache),
2. picks the language and a :class:`~bot.i18n.Translator`,
3. calls the state callback (``async def name(update, context) -> State``), which queues replies,
4. writes the new state through to the database if it changed, and only then
5. sends the queued replies (a crash before 5 loses a reply, never the state; the user's next message
   is understood at the step the database says).

Nothing about a person is stored before they consent: before consent only the stateless start, language
and consent buttons work, and no state row is written.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, TypeAlias

from markupsafe import Markup
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.i18n import Translator, pick_language, translator
from bot.services.dialogue_state import DialogueRecord, load_person_and_dialogue, save_dialogue
from bot.services.people import PersonView
from models import Database

_LOGGER = logging.getLogger(__name__)

CONVERSATION: Final = "relative"
MAX_MESSAGE_UTF16: Final = 4096


class State(StrEnum):
    """Named states of the relative's dialogue (see handlers/dialogue.mmd)."""

    IDLE = "idle"
    ASK_SURNAME = "ask_surname"
    ASK_NAME = "ask_name"
    ASK_PATRONYMIC = "ask_patronymic"
    ASK_BIRTH_YEAR = "ask_birth_year"
    ASK_BIRTHPLACE = "ask_birthplace"
    ASK_DRAFT_OFFICE = "ask_draft_office"
    SUMMARY = "summary"
    RESULTS = "results"
    CONFIRM_FORGET = "confirm_forget"


@dataclass(frozen=True)
class Features:
    """Optional parts of the dialogue that later issues switch on (buttons appear only when set)."""

    # Escalate a search to the volunteers: async (db, person_id, fields) -> None. None: no such button.
    ask_volunteer: Callable[..., Awaitable[Any]] | None = None


@dataclass(frozen=True)
class Services:
    """What handlers need from the application, kept in ``bot_data["services"]``."""

    db: Database
    settings: Settings
    features: Features = field(default_factory=Features)


ButtonRows: TypeAlias = Sequence[Sequence[tuple[str, str]]]


class ReplyNotDelivered(Exception):
    """A step was done and stored, but Telegram did not take its replies (500s, time-outs): the user
    must not be told to try again (their answer would be taken twice)."""

    def __init__(self, lang: str) -> None:
        super().__init__("the replies of a stored step could not be sent")
        self.lang = lang


@dataclass
class Reply:
    """A message to send (or, with ``edit_message_id``, an edit of one of the bot's messages)."""

    text: str
    buttons: ButtonRows = ()
    edit_message_id: int | None = None


@dataclass
class Turn:
    """One update being handled: who, in which language, the dialogue as stored, and the replies."""

    user_id: int
    chat_id: int
    person: PersonView | None
    t: Translator
    dialogue: DialogueRecord
    telegram_language: str | None
    replies: list[Reply] = field(default_factory=list)
    toast: str | None = None
    forgotten: bool = False
    saved: bool = False  # the step's work is done and stored: only its replies are left to send
    toast_sent: bool = False

    @property
    def consented(self) -> bool:
        return self.person is not None and self.person.consented

    @property
    def state(self) -> State:
        try:
            return State(self.dialogue.state or State.IDLE)
        except ValueError:  # a state name from another version of the bot
            return State.IDLE

    @property
    def data(self) -> dict[str, Any]:
        return self.dialogue.data

    @property
    def nonce(self) -> int:
        """The step counter buttons carry, so a button from an older step is recognised as stale."""
        return int(self.data.get("n", 0))

    def new_step(self) -> int:
        """Start a new step: buttons of earlier steps become stale."""
        self.data["n"] = (self.nonce + 1) % 100_000
        return self.nonce

    def say(self, text: str, buttons: ButtonRows = ()) -> None:
        """Queue a message to the user."""
        self.replies.append(Reply(text, buttons))

    def edit(self, message_id: int, text: str, buttons: ButtonRows = ()) -> None:
        """Queue an edit of one of the bot's messages."""
        self.replies.append(Reply(text, buttons, edit_message_id=message_id))


class AmanatContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context of Amanat's handlers: services from ``bot_data`` and the current turn."""

    _turn: Turn | None = None

    @property
    def services(self) -> Services:
        services = self.bot_data["services"]
        assert isinstance(services, Services)
        return services

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def turn(self) -> Turn:
        if self._turn is None:
            raise RuntimeError("no turn: the callback was not called through handlers.runtime.entry")
        return self._turn

    @property
    def t(self) -> Translator:
        return self.turn.t


StateCallback: TypeAlias = Callable[[Update, AmanatContext], Awaitable[State]]
HandlerCallback: TypeAlias = Callable[[Update, AmanatContext], Coroutine[Any, Any, None]]


def _ids(update: Update) -> tuple[int, int, str | None]:
    user = update.effective_user
    chat = update.effective_chat
    if user is None:
        raise ValueError("an update without a user reached the dialogue")
    return user.id, chat.id if chat is not None else user.id, user.language_code


async def begin_turn(update: Update, context: AmanatContext) -> Turn:
    """Load the person and the dialogue state for this update."""
    services = context.services
    user_id, chat_id, language_code = _ids(update)
    person, dialogue = await load_person_and_dialogue(services.db, CONVERSATION, chat_id, user_id)
    telegram_language = pick_language(language_code)
    if person is not None and person.consented and person.language:
        lang = person.language
    else:
        lang = telegram_language or services.settings.i18n.default_language
    turn = Turn(
        user_id=user_id,
        chat_id=chat_id,
        person=person,
        t=translator(lang),
        dialogue=dialogue,
        telegram_language=telegram_language,
    )
    context._turn = turn
    return turn


def keyboard(rows: ButtonRows) -> InlineKeyboardMarkup | None:
    """An inline keyboard from rows of (caption, callback data)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows if row]
    )


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Split a long HTML message at line ends into parts Telegram accepts (tags never span lines here)."""
    if _utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while _utf16_len(line) > limit:  # a single overlong line: cut it (only plain text lines get here)
            parts.append(line[: limit // 2])
            line = line[limit // 2 :]
        candidate = f"{current}\n{line}" if current else line
        if _utf16_len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


async def flush(update: Update, context: AmanatContext, turn: Turn) -> None:
    """Answer the button press (if any) and send the queued replies, in order."""
    query = update.callback_query
    if query is not None and not turn.toast_sent:
        try:
            await query.answer(turn.toast or None)
        except BadRequest as error:  # a query too old to answer: the replies still matter
            _LOGGER.info("callback query not answered: %s", error)
        turn.toast_sent = True
    while turn.replies:  # a reply leaves the queue once sent, so a second flush sends only the rest
        reply = turn.replies[0]
        await _send_reply(context, turn, reply)
        turn.replies.pop(0)


async def _send_reply(context: AmanatContext, turn: Turn, reply: Reply) -> None:
    """Send one reply (an edit falls back to a new message when the old one cannot be edited)."""
    markup = keyboard(reply.buttons)
    if reply.edit_message_id is not None:
        try:
            await context.bot.edit_message_text(
                reply.text, chat_id=turn.chat_id, message_id=reply.edit_message_id, reply_markup=markup
            )
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            _LOGGER.info("edit failed (%s); sending a new message instead", error)
    parts = split_message(reply.text)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await context.bot.send_message(turn.chat_id, part, reply_markup=markup if last else None)


def entry(callback: StateCallback, *, needs_consent: bool = True) -> HandlerCallback:
    """Wrap a state callback into a PTB handler callback: load, call, write through, then reply."""

    async def handle(update: Update, context: AmanatContext) -> None:
        turn = await begin_turn(update, context)
        if needs_consent and not turn.consented:
            from handlers.start import ask_consent  # the consent prompt lives with /start

            ask_consent(turn)
        else:
            before = turn.dialogue.snapshot()
            new_state = await callback(update, context)
            turn.dialogue.state = new_state.value
            if turn.consented and not turn.forgotten and (turn.dialogue.snapshot() != before):
                await save_dialogue(context.db, turn.dialogue)
            turn.saved = True
        try:
            await flush(update, context, turn)
        except NetworkError as error:  # a 500 or a time-out: the step is stored, so the reply must come
            if isinstance(error, BadRequest):
                raise
            _LOGGER.info("a reply failed (%s); sending the rest once more", type(error).__name__)
            try:
                await flush(update, context, turn)
            except NetworkError as again:
                if isinstance(again, BadRequest) or not turn.saved:
                    raise
                raise ReplyNotDelivered(turn.t.lang) from again

    handle.__name__ = getattr(callback, "__name__", "handle")
    handle.__doc__ = callback.__doc__
    return handle


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The :class:`Services` an application was built with."""
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    return services


def html_lines(*lines: str | None) -> Markup:
    """Join already-safe HTML lines, skipping empty ones."""
    return Markup("\n".join(line for line in lines if line))
