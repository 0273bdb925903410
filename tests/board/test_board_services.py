"""The board's queries on SQLite and on PostgreSQL: the case filters and their counts, and the weekly
statistics with the medians (one SUM(CASE …) per week, the same SQL on both)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.config import Settings
from bot.services import cases
from bot.services.board_stats import board_stats, record_search, week_starts
from bot.services.cases import Author, BoardFilter
from bot.services.people import give_consent
from bot.services.roles import standing_of
from models import Case, Database, Person, Role
from models.base import utcnow

RELATIVE, OTHER, ME, COLLEAGUE = 1001, 1002, 7001, 7002


async def test_case_filters_and_their_counts(any_db: Database) -> None:
    await give_consent(any_db, RELATIVE, "ru", first_name="Алия")
    await give_consent(any_db, OTHER, "kk", first_name="Дана")
    await cases.note_volunteer(any_db, ME, "Ержан", "ru")
    await cases.note_volunteer(any_db, COLLEAGUE, "Olga", "en")
    ids = [
        (await cases.open_case(any_db, person, text="помогите", search={"surname": "Легкодымов"})).id
        for person in (RELATIVE, OTHER, RELATIVE, OTHER)
    ]
    await cases.claim(any_db, ids[0], ME)  # mine, the relative waits for me
    await cases.claim(any_db, ids[1], ME)
    await cases.add_message(any_db, ids[1], Author.VOLUNTEER, ME, "ответ")  # mine, answered
    await cases.claim(any_db, ids[2], COLLEAGUE)  # someone else's

    def numbers(found: list[cases.CaseView]) -> list[int]:
        return [case.id for case in found]

    found, counts = await cases.board_cases(any_db, ME, BoardFilter.OPEN)
    assert counts == {"open": 4, "mine": 2, "unclaimed": 1, "waiting": 1, "closed": 0}
    assert sorted(numbers(found)) == sorted(ids)
    assert numbers((await cases.board_cases(any_db, ME, BoardFilter.MINE))[0]) == [ids[0], ids[1]]
    assert numbers((await cases.board_cases(any_db, ME, BoardFilter.WAITING))[0]) == [ids[0]]
    [unclaimed], _ = await cases.board_cases(any_db, ME, BoardFilter.UNCLAIMED)
    assert unclaimed.id == ids[3] and unclaimed.relative_name == "Дана"
    [theirs] = [case for case in found if case.id == ids[2]]
    assert theirs.volunteer_name == "Olga" and theirs.relative_name == "Алия"
    await cases.close(any_db, ids[3], ME)
    closed, counts = await cases.board_cases(any_db, ME, BoardFilter.CLOSED)
    assert numbers(closed) == [ids[3]] and counts["unclaimed"] == 0


async def test_weekly_statistics_and_the_medians(any_db: Database) -> None:
    now = utcnow()
    await give_consent(any_db, RELATIVE, "ru", first_name="Алия")
    await give_consent(any_db, OTHER, "kk", first_name="Дана")
    async with any_db.session() as session:  # Дана came three weeks ago
        await session.execute(
            update(Person).where(Person.id == OTHER).values(consent_at=now - timedelta(weeks=3))
        )
    for found in (3, 0, 5):
        await record_search(any_db, found)
    await cases.note_volunteer(any_db, ME, "Ержан", "ru")
    case = await cases.open_case(any_db, RELATIVE, text="помогите", search={"surname": "Легкодымов"})
    await cases.claim(any_db, case.id, ME)
    await cases.add_message(any_db, case.id, Author.VOLUNTEER, ME, "ответ")
    async with any_db.session() as session:
        await session.execute(
            update(Case).where(Case.id == case.id).values(created_at=now - timedelta(hours=2))
        )

    stats = await board_stats(any_db, now=now)
    assert stats.weeks == [start.date().isoformat() for start in week_starts(now)] and len(stats.weeks) == 12
    assert stats.weekly["searches"][-1] == 3 and sum(stats.weekly["searches"]) == 3
    assert stats.weekly["new_users"][-1] == 1 and stats.weekly["new_users"][-4] == 1
    assert stats.weekly["saved_searches"] == [0] * 12 and stats.weekly["matches_found"] == [0] * 12
    assert stats.cases == {"answered": 1}
    assert stats.median_claim_seconds is not None and stats.median_answer_seconds is not None
    assert 0 <= stats.median_answer_seconds < 60


async def test_standing_agrees_with_the_bots_roles(any_db: Database) -> None:
    settings = Settings(roles={"admins": [1], "volunteers": [2]})  # type: ignore[arg-type]
    await cases.note_volunteer(any_db, 3, "Granted", "ru")  # a volunteer by a role in the database
    await give_consent(any_db, 4, "ru", first_name="Relative")
    async with any_db.session() as session:
        session.add(Person(id=5, role=Role.ADMIN, active=True))
    for person_id, volunteer, admin in ((1, True, True), (2, True, False), (3, True, False), (4, False, False),
                                        (5, True, True), (6, False, False)):  # fmt: skip
        standing = await standing_of(any_db, settings, person_id)
        assert (standing.volunteer, standing.admin) == (volunteer, admin), person_id
        assert standing.volunteer == await cases.is_volunteer(any_db, settings.roles, person_id)
