"""The outbox delivers each queued message once, and knows what to do with 403, 429 and other failures."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.services import locks, outbox
from bot.services.outbox import Outgoing, RateLimited, RecipientBlocked, deliver_pending, enqueue
from models import Database, OutboxMessage, OutboxState, Person
from models.base import utcnow


def plain(payload: Mapping[str, Any], lang: str) -> tuple[str, tuple[()]]:
    return f"[{lang}] {payload['text']}", ()


RENDERERS = {"match": plain, "note": plain}


class FakeSender:
    """Records what was sent; `script` gives, per call, an exception to raise (or None to succeed)."""

    def __init__(self, *script: Exception | None, delay: float = 0.0) -> None:
        self.script = list(script)
        self.sent: list[Outgoing] = []
        self.tries = 0
        self.delay = delay

    async def send(self, message: Outgoing) -> None:
        self.tries += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.sent.append(message)


async def _person(db: Database, person_id: int, language: str = "ru") -> None:
    async with db.session() as session:
        session.add(Person(id=person_id, language=language, consent_at=utcnow()))


async def _queue(db: Database, chat_id: int, key: str, text: str, kind: str = "match") -> bool:
    async with db.session() as session:
        return await enqueue(session, chat_id=chat_id, kind=kind, dedup_key=key, payload={"text": text})


async def _states(db: Database) -> dict[str, tuple[OutboxState, int, str | None]]:
    async with db.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    return {row.dedup_key: (row.state, row.attempts, row.last_error) for row in rows}


async def test_a_message_is_queued_once_and_delivered_once_in_the_persons_language(any_db: Database) -> None:
    await _person(any_db, 7, "kk")
    assert await _queue(any_db, 7, "match:1", "hello")
    assert not await _queue(any_db, 7, "match:1", "hello again")
    sender = FakeSender()
    report = await deliver_pending(any_db, sender, renderers=RENDERERS)
    assert (report.sent, [m.text for m in sender.sent]) == (1, ["[kk] hello"])
    again = await deliver_pending(any_db, sender, renderers=RENDERERS)
    assert again.claimed == 0 and len(sender.sent) == 1
    assert (await _states(any_db))["match:1"][0] == OutboxState.SENT


async def test_a_blocked_person_becomes_inactive_and_nothing_more_is_tried(any_db: Database) -> None:
    await _person(any_db, 7)
    await _person(any_db, 8)
    for key in ("match:1", "match:2", "match:3"):
        await _queue(any_db, 7, key, key)
    await _queue(any_db, 8, "match:4", "to someone else")
    sender = FakeSender(RecipientBlocked("Forbidden: bot was blocked by the user"))
    report = await deliver_pending(any_db, sender, renderers=RENDERERS)
    assert sender.tries == 2  # the first message to 7 (403), then the one to 8; 7's others are dropped
    assert [m.chat_id for m in sender.sent] == [8]
    assert report.dropped == 3
    async with any_db.session() as session:
        person = await session.get(Person, 7)
        assert person is not None and not person.active and person.blocked_at is not None
    states = await _states(any_db)
    assert {states[k][0] for k in ("match:1", "match:2", "match:3")} == {OutboxState.DROPPED}
    await _queue(any_db, 7, "match:5", "later")  # something new for them: dropped without a try
    later = await deliver_pending(any_db, sender, renderers=RENDERERS, now=utcnow() + timedelta(days=1))
    assert sender.tries == 2 and later.dropped == 1


async def test_429_waits_retry_after_then_delivers_once(any_db: Database) -> None:
    await _person(any_db, 7)
    await _queue(any_db, 7, "match:1", "one")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    sender = FakeSender(RateLimited(3))
    report = await deliver_pending(any_db, sender, renderers=RENDERERS, sleep=sleep)
    assert waits == [3]
    assert (report.sent, sender.tries, len(sender.sent)) == (1, 2, 1)
    assert (await _states(any_db))["match:1"][:2] == (OutboxState.SENT, 1)


async def test_a_long_429_puts_the_batch_back_until_telegram_allows_sending(any_db: Database) -> None:
    await _person(any_db, 7)
    await _queue(any_db, 7, "match:1", "one")
    await _queue(any_db, 7, "match:2", "two")
    now = utcnow()
    sender = FakeSender(RateLimited(600))
    report = await deliver_pending(any_db, sender, renderers=RENDERERS, now=now)
    assert (report.sent, report.retried, sender.tries) == (0, 2, 1)
    states = await _states(any_db)
    assert states["match:1"][:2] == (OutboxState.PENDING, 0) and states["match:2"][:2] == (
        OutboxState.PENDING,
        0,
    )
    early = await deliver_pending(any_db, sender, renderers=RENDERERS, now=now + timedelta(seconds=599))
    assert early.claimed == 0
    late = await deliver_pending(any_db, sender, renderers=RENDERERS, now=now + timedelta(seconds=601))
    assert late.sent == 2 and [m.text for m in sender.sent] == ["[ru] one", "[ru] two"]


async def test_other_errors_back_off_exponentially_and_fail_after_the_last_try(any_db: Database) -> None:
    await _person(any_db, 7)
    await _queue(any_db, 7, "match:1", "one")
    sender = FakeSender(*[RuntimeError("Internal Server Error")] * outbox.MAX_ATTEMPTS)
    now = utcnow()
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        report = await deliver_pending(any_db, sender, renderers=RENDERERS, now=now)
        assert report.claimed == 1
        state, attempts, error = (await _states(any_db))["match:1"]
        assert attempts == attempt and error == "RuntimeError: Internal Server Error"
        if attempt < outbox.MAX_ATTEMPTS:
            assert state == OutboxState.PENDING
            assert (await deliver_pending(any_db, sender, renderers=RENDERERS, now=now)).claimed == 0
            now += outbox.backoff(attempt) + timedelta(seconds=1)
        else:
            assert state == OutboxState.FAILED
    assert outbox.backoff(1) < outbox.backoff(2) < outbox.backoff(3)
    assert (
        await deliver_pending(any_db, sender, renderers=RENDERERS, now=now + timedelta(days=30))
    ).claimed == 0
    assert sender.sent == []
    stats = await outbox.outbox_stats(any_db)
    assert stats.by_state == {"failed": 1}
    assert stats.last_errors[0][2] == "RuntimeError: Internal Server Error"


def dead_process_here() -> str:
    """The identity of a process of this host that has exited (as a kill -9 leaves its claims behind)."""
    pid = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    ).stdout  # the process has exited and been reaped
    return f"{locks._host()}:{int(pid)}:deadbeef"


async def _claimed_by(db: Database, key: str, holder: str, lease_until: datetime) -> None:
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedup_key == key)
            .values(state=OutboxState.SENDING, attempts=1, claimed_by=holder, next_attempt_at=lease_until)
        )


async def test_a_message_left_sending_on_another_host_is_sent_after_its_lease(any_db: Database) -> None:
    await _person(any_db, 7)
    await _queue(any_db, 7, "match:1", "one")
    now = utcnow()
    await _claimed_by(any_db, "match:1", "elsewhere/1:4242:cafe", now + outbox.SENDING_LEASE)
    sender = FakeSender()
    soon = await deliver_pending(any_db, sender, renderers=RENDERERS, now=now + timedelta(seconds=30))
    assert soon.claimed == 0  # it may be in flight on that host
    after = await deliver_pending(
        any_db, sender, renderers=RENDERERS, now=now + outbox.SENDING_LEASE + timedelta(seconds=1)
    )
    assert after.sent == 1 and (await _states(any_db))["match:1"][:2] == (OutboxState.SENT, 2)


async def test_the_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(any_db: Database) -> None:
    await _person(any_db, 7)
    await _queue(any_db, 7, "match:1", "one")
    await _queue(any_db, 7, "match:2", "two")
    now = utcnow()
    await _claimed_by(any_db, "match:1", dead_process_here(), now + timedelta(minutes=5))
    await _claimed_by(any_db, "match:2", locks.process_identity(), now + timedelta(minutes=5))
    sender = FakeSender()
    report = await deliver_pending(any_db, sender, renderers=RENDERERS, now=now)
    # The dead process's message goes again now; a claim of this (live) process is left alone.
    assert [m.text for m in sender.sent] == ["[ru] one"] and report.claimed == 1
    states = await _states(any_db)
    assert states["match:1"][:2] == (OutboxState.SENT, 2) and states["match:2"][0] == OutboxState.SENDING


async def test_messages_are_claimed_one_at_a_time(any_db: Database) -> None:
    await _person(any_db, 7)
    for n in range(1, 4):
        await _queue(any_db, 7, f"match:{n}", str(n))
    seen: list[dict[str, OutboxState]] = []

    class Peeking(FakeSender):
        async def send(self, message: Outgoing) -> None:
            seen.append({key: state for key, (state, _, _) in (await _states(any_db)).items()})
            await super().send(message)

    await deliver_pending(any_db, Peeking(), renderers=RENDERERS, limit=50)
    # While each message is in flight, only it is claimed: a crash there leaves the rest pending.
    assert [sorted(k for k, state in states.items() if state == OutboxState.SENDING) for states in seen] == [
        ["match:1"],
        ["match:2"],
        ["match:3"],
    ]


async def test_two_senders_at_once_never_send_a_message_twice(
    any_db: Database, any_db_url: str, make_db: Callable[[str], Awaitable[Database]]
) -> None:
    for person in range(1, 21):
        await _person(any_db, person)
        await _queue(any_db, person, f"match:{person}", str(person))
    other = await make_db(any_db_url)
    first, second = FakeSender(delay=0.01), FakeSender(delay=0.01)
    await asyncio.gather(
        deliver_pending(any_db, first, renderers=RENDERERS, limit=20),
        deliver_pending(other, second, renderers=RENDERERS, limit=20),
    )
    texts = sorted(m.text for m in first.sent + second.sent)
    assert texts == sorted(f"[ru] {n}" for n in range(1, 21))


async def test_a_forgotten_person_gets_nothing(db: Database) -> None:
    await _queue(db, 99, "match:1", "to nobody")
    sender = FakeSender()
    report = await deliver_pending(db, sender, renderers=RENDERERS)
    assert report.dropped == 1 and sender.tries == 0


async def test_a_sender_waiting_out_a_429_keeps_its_claim(
    any_db: Database, any_db_url: str, make_db: Callable[[str], Awaitable[Database]]
) -> None:
    await _person(any_db, 7)
    await _queue(any_db, 7, "match:1", "one")
    other = await make_db(any_db_url)  # `amanat match` delivering at the same time
    now = utcnow()
    second = FakeSender()
    tried_meanwhile: list[int] = []

    async def sleep(seconds: float) -> None:  # while the first sender waits, its lease would have run out
        later = now + outbox.SENDING_LEASE + timedelta(seconds=1)
        tried_meanwhile.append((await deliver_pending(other, second, renderers=RENDERERS, now=later)).claimed)

    first = FakeSender(RateLimited(3))
    report = await deliver_pending(any_db, first, renderers=RENDERERS, now=now, sleep=sleep)
    assert tried_meanwhile == [0]  # the lease was pushed past the wait: nobody else took the message
    assert report.sent == 1 and len(first.sent) == 1 and second.sent == []
