"""Exactly one volunteer wins a case, even when two bot processes claim it at the same instant.

Two :class:`models.Database` handles are two processes' connection pools; their claims are started
together many times over. The audit trail holds one claim per case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from bot.services import cases, review
from bot.services.people import give_consent
from bot.services.registry_import import import_file
from models import CaseStatus, Database, Match, NotificationState, Reading, SearchRequest

VOLUNTEER_A = 7001
VOLUNTEER_B = 7002
RELATIVE = 1001


async def test_two_simultaneous_claims_one_wins(
    any_db_url: str, make_db: Callable[[str], Awaitable[Database]]
) -> None:
    first, second = await make_db(any_db_url), await make_db(any_db_url)
    await give_consent(first, RELATIVE, "ru", first_name="Алия")
    for volunteer, name in ((VOLUNTEER_A, "Ержан"), (VOLUNTEER_B, "Ольга")):
        await cases.note_volunteer(first, volunteer, name, "ru")
    for _ in range(15):
        case = await cases.open_case(first, RELATIVE, text="Помогите", search={"surname": "Легкодымов"})
        outcomes = await asyncio.gather(
            cases.claim(first, case.id, VOLUNTEER_A), cases.claim(second, case.id, VOLUNTEER_B)
        )
        won = [outcome for outcome in outcomes if isinstance(outcome, cases.Change)]
        assert len(won) == 1, outcomes
        assert cases.Refusal.TAKEN in outcomes
        stored = await cases.get_case(first, case.id)
        assert stored is not None and stored.status == CaseStatus.CLAIMED
        assert stored.volunteer_id == won[0].case.volunteer_id
        trail = await cases.case_events(first, case.id)
        assert [(e.from_status, e.to_status) for e in trail] == [(None, "new"), ("new", "claimed")]


async def test_two_simultaneous_review_verdicts_one_counts(
    any_db_url: str, make_db: Callable[[str], Awaitable[Database]], tmp_path: Path
) -> None:
    first, second = await make_db(any_db_url), await make_db(any_db_url)
    await give_consent(first, RELATIVE, "ru", first_name="Алия")
    registry = tmp_path / "one.csv"
    registry.write_text("reading_id,surname,name,birth_year\nR-1,Легкодымов,Емельян,1904\n", encoding="utf-8")
    await import_file(first, registry)
    async with first.session() as session:
        reading = (await session.execute(select(Reading))).scalar_one()
        request = SearchRequest(person_id=RELATIVE, surname="Легкодымов")
        session.add(request)
        await session.flush()
        match = Match(
            request_id=request.id, reading_pk=reading.id, score=50.0, notification=NotificationState.SKIPPED
        )
        session.add(match)
        await session.flush()
        match_id = match.id
    outcomes = await asyncio.gather(
        review.decide(first, match_id, review.Verdict.LIKELY, VOLUNTEER_A),
        review.decide(second, match_id, review.Verdict.NOT, VOLUNTEER_B),
    )
    assert sum(outcome is not None for outcome in outcomes) == 1
    assert await review.queue_size(first) == 0
