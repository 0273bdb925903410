"""The board's queries on SQLite and on PostgreSQL: the case filters and their counts, the weekly
statistics (a count of an index range per week) with the medians (taken in SQL, the same on both), and
the statistics' snapshot that several processes share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, update

import bot
from bot.config import Settings
from bot.services import cases
from bot.services.board_stats import (
    REGIONS_META,
    SNAPSHOT_LOCK,
    board_stats,
    read_snapshot,
    record_search,
    refresh_snapshot,
    region_counts,
    registry_stamp,
    week_starts,
)
from bot.services.cases import Author, BoardFilter
from bot.services.locks import job_lock
from bot.services.people import give_consent
from bot.services.registry_import import import_file
from bot.services.roles import standing_of
from models import (
    Case,
    CaseEvent,
    Database,
    Match,
    NotificationState,
    Person,
    Reading,
    RegistryMeta,
    Role,
    SearchRequest,
)
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
    # The differences are taken in SQL (SQLite's text times, PostgreSQL's timestamptz), and the median of
    # two cases is the mean of the two (Python's on SQLite, percentile_cont on PostgreSQL): exact seconds.
    second = await cases.open_case(any_db, OTHER, text="помогите", search={"surname": "Иванов"})
    await cases.claim(any_db, second.id, ME)
    await cases.add_message(any_db, second.id, Author.VOLUNTEER, ME, "ответ")
    times = {
        case.id: {"new": now - timedelta(hours=3), "claimed": now - timedelta(hours=1), "answered": now},
        second.id: {
            "new": now - timedelta(hours=5),
            "claimed": now - timedelta(hours=4),
            "answered": now - timedelta(hours=1),
        },
    }
    async with any_db.session() as session:
        for case_id, at_status in times.items():
            for status, at in at_status.items():
                await session.execute(
                    update(CaseEvent)
                    .where(CaseEvent.case_id == case_id, CaseEvent.to_status == status)
                    .values(at=at)
                )
    stats = await board_stats(any_db, now=now)
    assert stats.median_claim_seconds == pytest.approx((7200 + 3600) / 2, abs=0.01)
    assert stats.median_answer_seconds == pytest.approx((3600 + 10800) / 2, abs=0.01)


async def test_one_process_makes_the_snapshot_and_the_others_read_it(
    any_db_url: str, make_db: Callable[[str], Awaitable[Database]]
) -> None:
    """Two bot processes on one database: a tick that finds the snapshot fresh, or being made by the
    other (its job lock taken), does nothing; a stale one is made again, by whichever process ticks."""
    first, second = await make_db(any_db_url), await make_db(any_db_url)
    assert await read_snapshot(first) is None
    made = await refresh_snapshot(first, fresh_for=60)
    assert made is not None and made.seconds > 0 and made.stats.cases == {}
    assert await refresh_snapshot(second, fresh_for=60) is None  # fresh: the other process's tick skips
    seen = await read_snapshot(second)
    assert seen is not None and seen.at == made.at and seen.stats == made.stats
    async with job_lock(first, SNAPSHOT_LOCK) as making:  # the first process is making it now
        assert making.acquired
        assert await refresh_snapshot(second) is None
    await give_consent(second, RELATIVE, "ru", first_name="Алия")
    await cases.open_case(second, RELATIVE, text="помогите", search={"surname": "Легкодымов"})
    again = await refresh_snapshot(second, fresh_for=0)  # stale for this tick: made again
    assert again is not None and again.at > made.at and again.stats.cases == {"new": 1}
    kept = await read_snapshot(first)
    assert kept is not None and kept.at == again.at and kept.stats.weekly["new_users"][-1] == 1


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


async def test_the_registry_by_region_is_grouped_in_sql_and_kept_until_the_registry_changes(
    any_db: Database, tmp_path: Path
) -> None:
    """The chart by region: the same counts as reading every reading's derived place, grouped in SQL on
    SQLite and PostgreSQL; kept in registry_meta with the registry's stamp, counted again after an import."""
    sample = Path(bot.__file__).resolve().parent / "data" / "sample_registry.csv"
    await import_file(any_db, sample)

    async def expected() -> Counter[str]:
        counted: Counter[str] = Counter()
        async with any_db.session() as session:
            for (derived,) in await session.execute(select(Reading.derived)):
                place = (derived or {}).get("pl")
                if isinstance(place, list) and len(place) == 2 and place[1]:
                    counted.update({pair[0] for pair in place[1][0]})
        return counted

    regions = await region_counts(any_db, shown=1000)
    assert regions and {r.region: r.readings for r in regions} == dict(await expected())
    assert all(r.label and r.families == 0 for r in regions)
    async with any_db.session() as session:
        kept = await session.get(RegistryMeta, REGIONS_META)
    assert kept is not None and orjson.loads(kept.value)["stamp"] == await registry_stamp(any_db)
    # The same stamp: the kept counts are read, not counted again (a planted count shows it).
    planted = orjson.loads(kept.value)
    planted["regions"]["kz-akmola"] = [123456, "Акмолинская"]
    async with any_db.session() as session:
        await session.merge(RegistryMeta(name=REGIONS_META, value=orjson.dumps(planted).decode()))
    assert {r.region: r.readings for r in await region_counts(any_db)}["kz-akmola"] == 123456
    # An import changes the stamp: counted again, the new reading in it.
    more = tmp_path / "more.csv"
    header = sample.read_text(encoding="utf-8").splitlines()[0]
    more.write_text(
        header
        + '\nNEW-1,Жумабаев,Сейткали,,1911,"Акмолинская обл., Атбасарский р-н",Атбасарский РВК'
        + ",,,,,,,,,\n",
        encoding="utf-8",
    )
    await import_file(any_db, more)
    recount = {r.region: r.readings for r in await region_counts(any_db, shown=1000)}
    assert recount == dict(await expected()) and recount["kz-akmola"] != 123456
    # A family told of a match: its reading's region counts it (the told matches' stamp moved).
    await give_consent(any_db, RELATIVE, "ru", first_name="Алия")
    async with any_db.session() as session:
        reading = (await session.execute(select(Reading).where(Reading.reading_id == "NEW-1"))).scalar_one()
        request = SearchRequest(person_id=RELATIVE, surname="Жумабаев")
        session.add(request)
        await session.flush()
        session.add(
            Match(
                request_id=request.id, reading_pk=reading.id, score=0.9, notification=NotificationState.QUEUED
            )
        )
    families = {r.region: r.families for r in await region_counts(any_db, shown=1000)}
    assert families["kz-akmola"] == 1 and sum(families.values()) == 1
