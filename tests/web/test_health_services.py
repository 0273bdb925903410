"""What /healthz reads from the database: the matching pass's stamp, the outbox backlog, and a probe that
writes through a new connection and never creates a SQLite file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.services.health import DatabaseProbe, last_matching_pass, outbox_backlog, state_counts
from bot.services.matching import run_matching_pass
from bot.services.registry_search import StoredRegistry
from models import Case, CaseStatus, Database, OutboxMessage, OutboxState, Person
from models.base import utcnow


async def test_every_matching_pass_stamps_when_it_ran(any_db: Database) -> None:
    assert await last_matching_pass(any_db) is None
    before = utcnow()
    report = await run_matching_pass(any_db, load_config())
    assert report.ran is not False
    stamped = await last_matching_pass(any_db)
    assert stamped is not None and stamped >= before - timedelta(seconds=1)


async def test_outbox_backlog_counts_what_is_due_and_what_failed(any_db: Database) -> None:
    now = utcnow()
    async with any_db.session() as session:
        session.add_all(
            [
                OutboxMessage(
                    chat_id=1, kind="t", dedup_key="a", next_attempt_at=now - timedelta(minutes=20)
                ),
                OutboxMessage(chat_id=1, kind="t", dedup_key="b", next_attempt_at=now - timedelta(minutes=1)),
                OutboxMessage(chat_id=1, kind="t", dedup_key="c", next_attempt_at=now + timedelta(hours=1)),
                OutboxMessage(chat_id=1, kind="t", dedup_key="d", state=OutboxState.SENT),
                OutboxMessage(chat_id=1, kind="t", dedup_key="e", state=OutboxState.FAILED),
            ]
        )
        session.add(Person(id=5))
        await session.flush()
        session.add(Case(person_id=5, status=CaseStatus.CLAIMED))
    backlog = await outbox_backlog(any_db, now=now)
    assert backlog.due == 2 and backlog.failed == 1
    assert 1190 <= backlog.oldest_due_seconds <= 1210
    counts = await state_counts(any_db, StoredRegistry(any_db))
    assert counts.outbox == {"pending": 3, "sent": 1, "failed": 1}
    assert counts.cases == {"claimed": 1}


async def test_the_probe_writes_through_a_new_connection(any_db_url: str) -> None:
    probe = DatabaseProbe(any_db_url)
    try:
        detail = await probe.check()
        assert detail["ms"] >= 0
    finally:
        await probe.dispose()


async def test_the_probe_never_creates_a_missing_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    probe = DatabaseProbe(f"sqlite+aiosqlite:///{path}")
    try:
        with pytest.raises(Exception, match="unable to open"):
            await probe.check()
    finally:
        await probe.dispose()
    assert not path.exists()
