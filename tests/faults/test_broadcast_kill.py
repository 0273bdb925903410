"""kill -9 of a real bot (`amanat run`) half way through an appeal's broadcast, then a restart; and two
bots on one PostgreSQL, of which exactly one broadcasts the appeal until it is killed.

The restarted bot's broadcast job takes the appeal over at once (the dead holder's lock and its claim on
the delivery in flight), and the broadcast completes: nobody is missed, and nobody gets it twice except
at most the one delivery that was in flight at the instant of the kill. With two bots running, the one
holding the appeal's advisory lock (found through pg_locks and the client port of its connection) is the
only one that claims deliveries; when it dies, the server drops its lock and the other bot finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest
from faults_harness import assert_each_once_but_in_flight, crash_at_nth_send, until
from sqlalchemy import select, text

from bot.services.broadcast import send_appeal
from bot.services.locks import advisory_key
from botapi_standin import BotApiStandIn, Observed, SentMessage
from models import AppealDelivery, Database, DeliveryState
from tests.amanat_process import amanat_env, start_bot, stop
from tests.appeals.appeal_scenario import appeal_to_all, delivery_states, received, users

AUDIENCE = 120
PACE = {"AMANAT_BROADCAST__RATE_PER_SECOND": "30"}


@pytest.mark.parametrize(
    ("how", "at", "in_flight"),
    [
        ("kill -9 from outside", 60, True),  # the 60th appeal has reached Telegram, no answer yet
        ("appeal-claimed", 50, False),  # the 50th delivery is claimed, not yet handed to the Bot API
        ("appeal-sent", 70, True),  # Telegram accepted the 70th, the broadcaster has not recorded it
    ],
)
async def test_a_killed_broadcast_resumes_and_serves_everyone_once(
    api: BotApiStandIn,
    any_db: Database,
    any_db_url: str,
    tmp_path: Path,
    how: str,
    at: int,
    in_flight: bool,
) -> None:
    if how != "kill -9 from outside" and "postgresql" in any_db_url:
        pytest.skip(
            "the other points run on SQLite only (time; PostgreSQL's takeover has its own test below)"
        )
    everyone = await users(api, any_db, 70_000, AUDIENCE)
    appeal_id = await appeal_to_all(any_db)
    assert await send_appeal(any_db, appeal_id) == AUDIENCE
    workdir = tmp_path / "cwd"
    workdir.mkdir()

    await crash_at_nth_send(api, amanat_env(any_db_url, api, **PACE), workdir, how, at)
    before_restart = sum(received(api, everyone).values())
    assert before_restart == (at if in_flight else at - 1)

    second = start_bot(amanat_env(any_db_url, api, **PACE), workdir)
    try:

        async def all_sent() -> bool:
            return await delivery_states(any_db, appeal_id) == {"sent": AUDIENCE}

        await until(all_sent, "every delivery was recorded as sent", second)
    finally:
        stop(second)

    assert_each_once_but_in_flight(received(api, everyone), AUDIENCE, in_flight)


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process `pid` has open (Linux /proc)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def _owner_of_local_port(port: int, processes: list[subprocess.Popen[bytes]]) -> int | None:
    """Which of `processes` has a TCP socket on local port `port` (the client end of a database
    connection), read from /proc/net/tcp{,6}."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    for process in processes:
        if process.poll() is None and inodes & _socket_inodes(process.pid):
            return process.pid
    return None


async def _holder_of_lock(db: Database, name: str, processes: list[subprocess.Popen[bytes]]) -> int | None:
    """The process holding the advisory lock `name` now (None: nobody holds it)."""
    key = advisory_key(name) & 0xFFFF_FFFF_FFFF_FFFF
    async with db.session() as session:
        port = await session.scalar(
            text(
                "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND l.classid::bigint = :high AND l.objid::bigint = :low"
            ),
            {"high": key >> 32, "low": key & 0xFFFF_FFFF},
        )
    return _owner_of_local_port(int(port), processes) if port is not None else None


async def _claimers(db: Database, appeal_id: int) -> set[int]:
    """The process ids that have a delivery of the appeal claimed ("sending") now."""
    async with db.session() as session:
        holders = await session.scalars(
            select(AppealDelivery.claimed_by).where(
                AppealDelivery.appeal_id == appeal_id, AppealDelivery.state == DeliveryState.SENDING
            )
        )
        return {int(holder.rsplit(":", 2)[-2]) for holder in holders if holder}  # host:pid:nonce


async def test_two_bots_on_postgresql_one_broadcasts_and_the_other_takes_over_when_it_dies(
    api: BotApiStandIn, postgres_db: Database, postgres_url: str, tmp_path: Path
) -> None:
    db, audience = postgres_db, 240
    everyone = await users(api, db, 75_000, audience)
    bots: list[subprocess.Popen[bytes]] = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        bots.append(start_bot(amanat_env(postgres_url, api, **PACE), workdir))
    try:

        async def both_up() -> bool:
            assert all(bot.poll() is None for bot in bots), "a bot exited"
            return len(api.calls_of("getMe")) >= 2

        await until(both_up, "both bots started")
        appeal_id = await appeal_to_all(db)
        assert await send_appeal(db, appeal_id) == audience
        lock = f"appeal:{appeal_id}"

        async def holder_known() -> bool:
            return await _holder_of_lock(db, lock, bots) is not None

        await until(holder_known, "one of the bots took the appeal")
        holder_pid = await _holder_of_lock(db, lock, bots)
        holder = next(bot for bot in bots if bot.pid == holder_pid)
        survivor = next(bot for bot in bots if bot is not holder)

        # While both run, only the holder claims deliveries; it dies with the 120th message in flight.
        claimers: set[int] = set()
        seen = 0

        def kill_holder_at_the_120th_send(item: Observed) -> None:
            nonlocal seen
            if isinstance(item, SentMessage) and item.method == "sendMessage" and not item.edited:
                seen += 1
                if seen == audience // 2:
                    holder.send_signal(signal.SIGKILL)

        api.add_listener(kill_holder_at_the_120th_send)
        try:
            while holder.poll() is None:
                claimers |= await _claimers(db, appeal_id)
                await asyncio.sleep(0.01)
        finally:
            api.remove_listener(kill_holder_at_the_120th_send)
        # A delivery stays "sending" until the next one is claimed, so the samples always catch the holder.
        assert claimers == {holder.pid}, f"claimed by {claimers}; the lock's holder is {holder.pid}"
        assert holder.wait(30) == -signal.SIGKILL

        async def all_sent() -> bool:
            return await delivery_states(db, appeal_id) == {"sent": audience}

        await until(all_sent, "the survivor finished the broadcast", survivor)
        assert await _holder_of_lock(db, lock, bots) in (None, survivor.pid)
    finally:
        for bot in bots:
            stop(bot)

    assert_each_once_but_in_flight(received(api, everyone), audience, in_flight=True)
