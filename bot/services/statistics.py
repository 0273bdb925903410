"""Numbers for an administrator's /stats beyond matching and delivery: people by language, cases, appeals.

* people by language, active and blocked (a person who blocked the bot is inactive);
* matches volunteers reviewed;
* cases by status, and the median time from a case's opening to its claim by a volunteer;
* the latest appeals with their delivery counts.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Appeal, AppealDelivery, Case, Database, DeliveryState, MatchReview, Person

APPEALS_SHOWN = 5


@dataclass(frozen=True)
class AppealCounts:
    id: int
    status: str
    counts: dict[str, int]

    @property
    def left(self) -> int:
        return self.counts.get(DeliveryState.PENDING, 0) + self.counts.get(DeliveryState.SENDING, 0)


@dataclass(frozen=True)
class AdminStats:
    people: dict[str, tuple[int, int]]  # language ("" unknown) → (active, blocked)
    reviewed: int  # recorded matches volunteers gave a verdict on (the review queue)
    cases: dict[str, int]
    median_claim_seconds: float | None
    appeals: list[AppealCounts]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def admin_stats(db: Database) -> AdminStats:
    """People by language, cases by status with the median time to claim, the latest appeals' counts."""
    async with db.session() as session:
        people: dict[str, tuple[int, int]] = {}
        for language, active, count in await session.execute(
            select(Person.language, Person.active, func.count())
            .where(Person.consent_at.is_not(None))
            .group_by(Person.language, Person.active)
        ):
            on, off = people.get(language or "", (0, 0))
            people[language or ""] = (on + count, off) if active else (on, off + count)
        reviewed = int(await session.scalar(select(func.count()).select_from(MatchReview)) or 0)
        cases = await case_counts(session)
        waits = [
            (_aware(claimed) - _aware(created)).total_seconds()
            for created, claimed in await session.execute(
                select(Case.created_at, Case.claimed_at).where(Case.claimed_at.is_not(None))
            )
            if claimed is not None
        ]
        appeals = await latest_appeals(session)
    return AdminStats(
        people=dict(sorted(people.items())),
        reviewed=reviewed,
        cases=cases,
        median_claim_seconds=statistics.median(waits) if waits else None,
        appeals=appeals,
    )


async def case_counts(session: AsyncSession) -> dict[str, int]:
    """Cases by status (one pass of the status index)."""
    return {
        str(status): int(count)
        for status, count in await session.execute(select(Case.status, func.count()).group_by(Case.status))
    }


async def latest_appeals(session: AsyncSession, shown: int = APPEALS_SHOWN) -> list[AppealCounts]:
    """The ``shown`` latest appeals with their delivery counts by state."""
    latest = list(
        await session.execute(select(Appeal.id, Appeal.status).order_by(Appeal.id.desc()).limit(shown))
    )
    counts: dict[int, dict[str, int]] = {appeal_id: {} for appeal_id, _ in latest}
    if counts:
        for appeal_id, state, count in await session.execute(
            select(AppealDelivery.appeal_id, AppealDelivery.state, func.count())
            .where(AppealDelivery.appeal_id.in_(list(counts)))
            .group_by(AppealDelivery.appeal_id, AppealDelivery.state)
        ):
            counts[appeal_id][str(state)] = int(count)
    return [AppealCounts(appeal_id, str(status), counts[appeal_id]) for appeal_id, status in latest]
