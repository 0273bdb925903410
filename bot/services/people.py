"""People who talk to the bot: consent, language, and erasing a relative's personal data (``/forget``).

Nothing about a person is stored before they consent: :func:`give_consent` creates the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from models import Case, Database, DialogueState, OutboxMessage, Person, Role, SearchRequest, Story
from models.base import utcnow


@dataclass(frozen=True)
class PersonView:
    """What the dialogue needs to know about a person."""

    id: int
    language: str | None
    role: Role
    consented: bool
    active: bool


def person_view(person: Person) -> PersonView:
    """The view of a stored person."""
    return PersonView(
        id=person.id,
        language=person.language,
        role=person.role,
        consented=person.consent_at is not None,
        active=person.active,
    )


async def get_person(db: Database, person_id: int) -> PersonView | None:
    """The person with this Telegram user id, or None if they never consented (or were forgotten)."""
    async with db.session() as session:
        person = await session.get(Person, person_id)
        return person_view(person) if person is not None else None


async def give_consent(
    db: Database, person_id: int, language: str, *, first_name: str | None = None, username: str | None = None
) -> PersonView:
    """Record consent (creating the person) with their language; repeated consent keeps the first date."""
    async with db.session() as session:
        person = await session.get(Person, person_id)
        now = utcnow()
        if person is None:
            person = Person(id=person_id, created_at=now)
            session.add(person)
        person.language = language
        person.first_name = first_name
        person.username = username
        person.consent_at = person.consent_at or now
        person.active = True
        person.blocked_at = None
        person.last_seen_at = now
        await session.flush()
        return person_view(person)


async def set_language(db: Database, person_id: int, language: str) -> None:
    """Change a consented person's language (a person not stored yet is left alone)."""
    async with db.session() as session:
        person = await session.get(Person, person_id)
        if person is not None:
            person.language = language


async def touch(db: Database, person_id: int, when: datetime | None = None) -> None:
    """Note that the person wrote to the bot (and so has not blocked it)."""
    async with db.session() as session:
        person = await session.get(Person, person_id)
        if person is not None:
            person.last_seen_at = when or utcnow()
            person.active = True


async def forget_person(db: Database, person_id: int) -> None:
    """Erase a person's personal data: saved searches, cases, dialogue state, pending messages, the person.

    A relative's row is deleted. A volunteer or admin row may be referenced by cases they handled or
    appeals they wrote, so it is anonymised instead (names, language and consent cleared).
    """
    await _erase(db, person_id)
    await db.erase_traces()  # and out of SQLite's write-ahead log


async def _erase(db: Database, person_id: int) -> None:
    async with db.session() as session:
        await session.execute(delete(SearchRequest).where(SearchRequest.person_id == person_id))
        await session.execute(delete(Case).where(Case.person_id == person_id))
        await session.execute(delete(Story).where(Story.person_id == person_id))  # files: handlers.stories
        await session.execute(delete(DialogueState).where(DialogueState.user_id == person_id))
        await session.execute(delete(DialogueState).where(DialogueState.chat_id == person_id))
        await session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id == person_id))
        person = (await session.execute(select(Person).where(Person.id == person_id))).scalar_one_or_none()
        if person is None:
            return
        if person.role == Role.RELATIVE:
            await session.delete(person)
        else:
            person.first_name = None
            person.username = None
            person.language = None
            person.consent_at = None
