"""The dialogue's state store: a :class:`~handlers.turn.Turn` loaded from the database for every update
and written through to it after every step that changed it (never a process-local cache).

Because nothing is kept in memory between updates, a restart (or a kill -9) in the middle of a dialogue
loses nothing, and several bot processes can serve the same users. Nothing about a person is stored before
they consent: their dialogue is neither read nor written until then.
"""

from __future__ import annotations

from typing import Final

from telegram import Update

from bot.i18n import pick_language, translator
from bot.services.dialogue_state import load_person_and_dialogue, save_dialogue
from handlers.turn import Turn
from models import Database

CONVERSATION: Final = "relative"


def telegram_ids(update: Update) -> tuple[int, int, str | None]:
    """The user's id, the chat's id and the user's Telegram language code."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None:
        raise ValueError("an update without a user reached the dialogue")
    return user.id, chat.id if chat is not None else user.id, user.language_code


class DialogueStore:
    """Loads a turn (person, language, dialogue state) and saves the dialogue when a step changed it."""

    def __init__(self, db: Database, default_language: str) -> None:
        self.db = db
        self.default_language = default_language

    def fallback_language(self, update: Update) -> str:
        """The language to use when the person's own is not known (before consent, or unreadable)."""
        user = update.effective_user
        return pick_language(user.language_code if user else None) or self.default_language

    async def load(self, update: Update) -> Turn:
        """The turn of this update: the stored language after consent, Telegram's (or the default) before."""
        user_id, chat_id, language_code = telegram_ids(update)
        person, dialogue = await load_person_and_dialogue(self.db, CONVERSATION, chat_id, user_id)
        telegram_language = pick_language(language_code)
        if person is not None and person.consented and person.language:
            lang = person.language
        else:
            lang = telegram_language or self.default_language
        return Turn(
            user_id=user_id,
            chat_id=chat_id,
            person=person,
            t=translator(lang),
            dialogue=dialogue,
            telegram_language=telegram_language,
        )

    async def save(self, turn: Turn, before: object) -> None:
        """Write the dialogue through if the step changed it (``before``: its snapshot when loaded)."""
        if turn.consented and not turn.forgotten and turn.dialogue.snapshot() != before:
            await save_dialogue(self.db, turn.dialogue)
