"""Dialogue state written through to the database: read for every update, saved on every change.

One row per (conversation, chat, user) in ``dialogue_states``. Because nothing is kept in memory between
updates, a restart (or a kill -9) in the middle of a dialogue loses nothing, and several bot processes
can serve the same users.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete

from bot.services.people import PersonView, person_view
from models import Database, DialogueState, Person
from models.base import utcnow


@dataclass
class DialogueRecord:
    """A dialogue's current state name and its data (JSON-serialisable)."""

    conversation: str
    chat_id: int
    user_id: int
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    stored: bool = False

    def snapshot(self) -> tuple[str | None, dict[str, Any]]:
        """A deep copy of what would be saved, to tell later whether anything changed."""
        return self.state, copy.deepcopy(self.data)


async def load_dialogue(db: Database, conversation: str, chat_id: int, user_id: int) -> DialogueRecord:
    """The stored dialogue of this chat and user, or an empty one."""
    async with db.session() as session:
        row = await session.get(DialogueState, (conversation, chat_id, user_id))
        if row is None:
            return DialogueRecord(conversation, chat_id, user_id)
        return DialogueRecord(
            conversation, chat_id, user_id, state=row.state, data=dict(row.data or {}), stored=True
        )


async def load_person_and_dialogue(
    db: Database, conversation: str, chat_id: int, user_id: int
) -> tuple[PersonView | None, DialogueRecord]:
    """The person (None before consent) and, for a consented person, their dialogue: one transaction."""
    async with db.session() as session:
        person = await session.get(Person, user_id)
        view = person_view(person) if person is not None else None
        if view is None or not view.consented:
            return view, DialogueRecord(conversation, chat_id, user_id)
        row = await session.get(DialogueState, (conversation, chat_id, user_id))
        if row is None:
            return view, DialogueRecord(conversation, chat_id, user_id)
        return view, DialogueRecord(
            conversation, chat_id, user_id, state=row.state, data=dict(row.data or {}), stored=True
        )


async def save_dialogue(db: Database, record: DialogueRecord) -> None:
    """Write the dialogue's state and data (insert or update)."""
    async with db.session() as session:
        row = await session.get(DialogueState, (record.conversation, record.chat_id, record.user_id))
        if row is None:
            row = DialogueState(
                conversation=record.conversation, chat_id=record.chat_id, user_id=record.user_id
            )
            session.add(row)
        row.state = record.state
        row.data = copy.deepcopy(record.data)
        row.updated_at = utcnow()
    record.stored = True


async def clear_dialogue(db: Database, conversation: str, chat_id: int, user_id: int) -> None:
    """Forget the dialogue of this chat and user."""
    async with db.session() as session:
        await session.execute(
            delete(DialogueState).where(
                DialogueState.conversation == conversation,
                DialogueState.chat_id == chat_id,
                DialogueState.user_id == user_id,
            )
        )
