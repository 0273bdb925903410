"""When a running import batch counts as alive or lost: its process on this host, its heartbeat elsewhere."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from bot.services.import_batches import (
    HEARTBEAT_TIMEOUT,
    batch_overview,
    process_identity,
    visible_batches,
)
from models import BatchState, Database, ImportBatch
from models.base import utcnow


async def add_batch(db: Database, **holder: object) -> int:
    async with db.session() as session:
        batch = ImportBatch(source="registry.csv", **{"state": BatchState.RUNNING, **holder})
        session.add(batch)
        await session.flush()
        return batch.id


def a_finished_process() -> int:
    """The pid of a process that ran and was reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


async def states(db: Database) -> dict[int, str]:
    return {info.id: info.state for info in await batch_overview(db)}


async def test_a_batch_is_alive_while_its_process_runs_on_this_host(db: Database) -> None:
    host, pid, start = process_identity()
    finished = await add_batch(db, state=BatchState.FINISHED)
    mine = await add_batch(
        db, host=host, pid=pid, process_start=start, heartbeat_at=utcnow() - timedelta(days=1)
    )
    gone = await add_batch(db, host=host, pid=a_finished_process(), process_start="1", heartbeat_at=utcnow())
    reused = await add_batch(db, host=host, pid=pid, process_start=start + "0", heartbeat_at=utcnow())
    assert await states(db) == {
        finished: BatchState.FINISHED,
        mine: BatchState.RUNNING,  # a silent heartbeat does not matter here: the process is there
        gone: BatchState.LOST,
        reused: BatchState.LOST,  # the same pid, another process
    }
    async with db.session() as session:
        visible = await visible_batches(session)
    assert (visible.upto, visible.hidden) == (mine - 1, frozenset())


async def test_a_batch_of_another_host_is_alive_while_its_heartbeat_is(db: Database) -> None:
    now = utcnow()
    beating = await add_batch(db, host="elsewhere", pid=1, process_start="5", heartbeat_at=now)
    silent = await add_batch(
        db, host="elsewhere", pid=2, process_start="5", heartbeat_at=now - HEARTBEAT_TIMEOUT
    )
    assert await states(db) == {beating: BatchState.RUNNING, silent: BatchState.LOST}
    async with db.session() as session:
        assert (await visible_batches(session)).upto == beating - 1
        later = await visible_batches(session, now + HEARTBEAT_TIMEOUT)  # the first one fell silent too
    assert (later.upto, later.hidden) == (silent, frozenset({beating, silent}))
