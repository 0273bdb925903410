"""One update being handled (a :class:`Turn`): who, in which language, the dialogue as stored, the replies.

Also the callback context of Amanat's handlers (:class:`AmanatContext`), the named states of the
relative's dialogue (:class:`State`), and how the queued replies are sent (:func:`flush`). Loading and
storing a turn is handlers/dialogue_store.py; running one step is handlers/steps.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, TypeAlias, TypeVar

from markupsafe import Markup
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.i18n import Translator
from bot.services.dialogue_state import DialogueRecord
from bot.services.people import PersonView
from bot.services.registry_search import RegistrySearch
from bot.services.story_files import StoryStore
from handlers.buttons import ButtonData
from models import Database

_LOGGER = logging.getLogger(__name__)

B = TypeVar("B", bound=ButtonData)

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
    # After a search is saved: async (update, context, request_id) -> None (the appeals' other direction).
    search_saved: Callable[..., Awaitable[Any]] | None = None


@dataclass(frozen=True)
class Services:
    """What handlers need from the application, kept in ``bot_data["services"]``."""

    db: Database
    settings: Settings
    registry: RegistrySearch  # opened when the application starts (post_init), closed at its shutdown
    story_store: StoryStore  # the memory book's files: the directory, or the S3 bucket when configured
    features: Features = field(default_factory=Features)


# Rows of buttons: (caption, callback data), or a ready InlineKeyboardButton (e.g. the web board's web_app).
ButtonRows: TypeAlias = Sequence[Sequence[tuple[str, str] | InlineKeyboardButton]]


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
    picked_language: str | None = None  # chosen before consent (kept in memory only, never stored)
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
        self.data.pop("aside", None)
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
    button: ButtonData | None = None  # the decoded data of the button pressed (set by handlers.dialogue)

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
            raise RuntimeError("no turn: the callback was not called through handlers.steps")
        return self._turn

    @property
    def t(self) -> Translator:
        return self.turn.t

    @property
    def before_consent(self) -> dict[str, Any]:
        """What the person chose or asked for before consenting (``lang``, ``search``): in this process's
        memory only (PTB's user_data, not persisted), never in the database, until they agree."""
        user_data = self.user_data
        if user_data is None:
            return {}
        memory = user_data.setdefault("before_consent", {})
        assert isinstance(memory, dict)
        return memory

    def pressed(self, kind: type[B]) -> B:
        """The pressed button's data as ``kind`` (the route that called the callback decoded it)."""
        assert isinstance(self.button, kind), self.button
        return self.button


StateCallback: TypeAlias = Callable[[Update, AmanatContext], Coroutine[Any, Any, State]]
HandlerCallback: TypeAlias = Callable[[Update, AmanatContext], Coroutine[Any, Any, None]]


def keyboard(rows: ButtonRows) -> InlineKeyboardMarkup | None:
    """An inline keyboard from rows of (caption, callback data) and ready buttons."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                item
                if isinstance(item, InlineKeyboardButton)
                else InlineKeyboardButton(item[0], callback_data=item[1])
                for item in row
            ]
            for row in rows
            if row
        ]
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


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The :class:`Services` an application was built with."""
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    return services


def html_lines(*lines: str | None) -> Markup:
    """Join already-safe HTML lines, skipping empty ones."""
    return Markup("\n".join(line for line in lines if line))
