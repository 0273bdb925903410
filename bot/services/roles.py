"""Roles: administrators and volunteers from the configuration, plus volunteers granted in the chat.

`/grant volunteer` and `/revoke` (handlers/roles.py) change a person's stored role and write a
`RoleChange` row (who, what, by whom, when) in the same transaction. Roles from the configuration
(`roles.admins`, `roles.volunteers`) cannot be revoked from the chat; an administrator's role is never
changed by a grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.config import Settings
from models import Database, Person, Role, RoleChange
from models.base import utcnow


class RoleRefused(Exception):
    """A grant or revoke that cannot be done; `code` says why (for a localized answer)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def grant_volunteer(db: Database, person_id: int, *, by: int, settings: Settings) -> bool:
    """Make `person_id` a volunteer; False when they already are one (nothing is written then)."""
    if person_id in settings.roles.admins:
        raise RoleRefused("admin")
    async with db.session() as session:
        person = await session.get(Person, person_id)
        if person is None:
            person = Person(id=person_id, active=True)
            session.add(person)
        elif person.role == Role.ADMIN:
            raise RoleRefused("admin")
        if person.role == Role.VOLUNTEER or person_id in settings.roles.volunteers:
            return False
        person.role = Role.VOLUNTEER
        session.add(RoleChange(person_id=person_id, role=Role.VOLUNTEER, granted=True, by=by, at=utcnow()))
    return True


async def revoke_volunteer(db: Database, person_id: int, *, by: int, settings: Settings) -> None:
    """Take the volunteer role granted in the chat back. RoleRefused("config") for a role from the
    configuration, RoleRefused("none") when there is no granted role to take back."""
    if person_id in settings.roles.admins or person_id in settings.roles.volunteers:
        raise RoleRefused("config")
    async with db.session() as session:
        person = await session.get(Person, person_id)
        if person is None or person.role != Role.VOLUNTEER:
            raise RoleRefused("none")
        person.role = Role.RELATIVE
        session.add(RoleChange(person_id=person_id, role=Role.VOLUNTEER, granted=False, by=by, at=utcnow()))


@dataclass(frozen=True)
class Grant:
    """A volunteer granted in the chat: who, by whom, when."""

    person_id: int
    by: int
    at: datetime


@dataclass(frozen=True)
class RolesOverview:
    admins: list[int]
    config_volunteers: list[int]
    granted: list[Grant]


async def roles_overview(db: Database, settings: Settings) -> RolesOverview:
    """Who holds which role, and where it comes from (the configuration, or a grant)."""
    async with db.session() as session:
        volunteers = list(
            await session.scalars(select(Person.id).where(Person.role == Role.VOLUNTEER).order_by(Person.id))
        )
        grants: list[Grant] = []
        for person_id in volunteers:
            change = await session.scalar(
                select(RoleChange)
                .where(RoleChange.person_id == person_id, RoleChange.granted.is_(True))
                .order_by(RoleChange.id.desc())
                .limit(1)
            )
            if change is not None:
                grants.append(Grant(person_id, change.by, change.at))
    return RolesOverview(sorted(settings.roles.admins), sorted(settings.roles.volunteers), grants)


@dataclass(frozen=True)
class Standing:
    """What a person may do beyond a relative's dialogue: a volunteer as
    :func:`bot.services.cases.is_volunteer` decides, an administrator as /stats does (``roles.admins`` or
    the admin role); an administrator is also a volunteer."""

    volunteer: bool
    admin: bool


async def standing_of(db: Database, settings: Settings, user_id: int) -> Standing:
    """A person's roles from the configuration and the database, with one read."""
    admin = user_id in settings.roles.admins
    volunteer = admin or user_id in settings.roles.volunteers
    if not (admin and volunteer):
        async with db.session() as session:
            person = await session.get(Person, user_id)
        role = person.role if person is not None else None
        admin = admin or role == Role.ADMIN
        volunteer = volunteer or role in (Role.VOLUNTEER, Role.ADMIN)
    return Standing(volunteer=volunteer, admin=admin)
