"""The web board's JSON endpoints under load: p50, p95 and max of /api/me, /api/cases (every filter),
/api/cases/<id> and /api/stats over real HTTP, with many cases and people in the database; and, apart,
the background refresh of the statistics' snapshot that /api/stats serves.

The database is filled with Core inserts (people, cases in every status with their audit trail and two
messages each, a search log); the bot's web server serves the board (bot.board.api.BoardApi) on a free
port, and requests carry signed initData as Telegram's would. /api/stats never computes: it reads the
snapshot that the bot's JobQueue refreshes (bot.services.board_stats.refresh_snapshot, every
``web.stats_refresh_seconds``). The refresh is timed on its own (the first one, then ``--refreshes``
more), and /api/stats and /api/cases are timed again while refreshes run back to back in the same
process, as they would while the job runs.

``--readings N`` also fills the registry (N readings, their birthplaces the sample registry's, derived
as an import derives them, one told match in a hundred) for the chart by region: the first refresh then
counts the regions (the one scan of the registry, as ``amanat import`` does when it finishes) and the
later ones read the kept counts.

    python -m bench.board                                  # 10,000 cases, 100,000 users, SQLite
    python -m bench.board --cases 2000 --users 20000 --requests 50
    python -m bench.board --readings 1000000               # and the registry by region at a million
    python -m bench.board --postgres postgresql://postgres@127.0.0.1/postgres   # a database made and dropped

The goal of issue 18: p95 ≤ 100 ms for each endpoint at 10,000 cases and 100,000 users.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_application
from bot.board.api import BoardApi
from bot.board.init_data import sign_init_data
from bot.config import Settings, async_database_url
from bot.search import ENGINE_VERSION, derive_stored_fields
from bot.services.board_stats import refresh_snapshot
from bot.web import WebServer
from handlers.web_board import BoardActions
from models import (
    Case,
    CaseEvent,
    CaseMessage,
    Database,
    ImportBatch,
    Match,
    NotificationState,
    Person,
    Reading,
    Role,
    SearchLogEntry,
    SearchRequest,
)
from models.base import utcnow
from models.registry import BatchState

TOKEN = "123456:bench-board-token"
VOLUNTEERS = 50
ADMIN = 1
STATUSES = ("new", "claimed", "answered", "closed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


async def fill(db: Database, users: int, cases: int, seed: int = 7) -> None:
    """``users`` people (the first ``VOLUNTEERS`` after the admin are volunteers) and ``cases`` cases."""
    rng = random.Random(seed)
    now = utcnow()
    async with db.session() as session:
        for start in range(0, users, 10_000):
            rows = [
                {
                    "id": person_id,
                    "language": rng.choice(("ru", "kk", "en")),
                    "role": Role.VOLUNTEER if 2 <= person_id < 2 + VOLUNTEERS else Role.RELATIVE,
                    "first_name": f"P{person_id}",
                    "consent_at": now - timedelta(days=rng.uniform(0, 120)),
                    "active": True,
                    "created_at": now - timedelta(days=rng.uniform(0, 120)),
                    "last_seen_at": now,
                }
                for person_id in range(start + 1, min(start + 10_000, users) + 1)
            ]
            await session.execute(insert(Person), rows)
        relatives = range(2 + VOLUNTEERS, users + 1)
        case_rows, event_rows, message_rows = [], [], []
        for case_id in range(1, cases + 1):
            status = rng.choice(STATUSES)
            created = now - timedelta(hours=rng.uniform(1, 24 * 80))
            claimed = created + timedelta(hours=rng.uniform(0.1, 30)) if status != "new" else None
            volunteer = rng.randrange(2, 2 + VOLUNTEERS) if status != "new" else None
            case_rows.append(
                {
                    "id": case_id,
                    "person_id": rng.choice(relatives),
                    "status": status,
                    "volunteer_id": volunteer,
                    "created_at": created,
                    "claimed_at": claimed,
                    "closed_at": now if status == "closed" else None,
                    "waiting_since": None if status in ("answered", "closed") else (claimed or created),
                    "search": {"surname": "Легкодымов", "name": "Емельян", "birth_year": 1904},
                    "results": [{"reading_id": "r1", "name": "Легкодымов Емельян", "year": "1904"}],
                    "summary": "Легкодымов",
                    "source": "ask",
                }
            )
            event_rows.append({"case_id": case_id, "actor": "relative", "to_status": "new", "at": created})
            if claimed is not None:
                event_rows.append(
                    {"case_id": case_id, "actor": "volunteer", "actor_id": volunteer, "from_status": "new",
                     "to_status": "claimed", "at": claimed}
                )  # fmt: skip
            if status in ("answered", "closed") and claimed is not None:
                event_rows.append(
                    {"case_id": case_id, "actor": "volunteer", "actor_id": volunteer, "from_status": "claimed",
                     "to_status": "answered", "at": claimed + timedelta(hours=rng.uniform(0.1, 20))}
                )  # fmt: skip
            message_rows.append(
                {"case_id": case_id, "author": "relative", "author_id": 0, "text": "Помогите найти прадеда",
                 "kind": "text", "created_at": created}
            )  # fmt: skip
        for table, rows in ((Case, case_rows), (CaseEvent, event_rows), (CaseMessage, message_rows)):
            for start in range(0, len(rows), 5_000):
                await session.execute(insert(table), rows[start : start + 5_000])
        searches = [
            {"at": now - timedelta(days=rng.uniform(0, 84)), "found": rng.randrange(0, 5)}
            for _ in range(users)
        ]
        for start in range(0, len(searches), 10_000):
            await session.execute(insert(SearchLogEntry), searches[start : start + 10_000])


def sample_places() -> list[tuple[str, str]]:
    """(birthplace, draft office) pairs of the sample registry."""
    with (Path(__file__).resolve().parents[1] / "bot" / "data" / "sample_registry.csv").open(
        encoding="utf-8"
    ) as f:
        rows = list(csv.DictReader(f))
    return sorted({(row["birthplace"], row["draft_office"]) for row in rows})


async def fill_registry(db: Database, readings: int, seed: int = 7) -> None:
    """``readings`` readings (one import batch), each derived as an import derives it; a match told to a
    family for one in a hundred."""
    rng = random.Random(seed)
    places = sample_places()
    surnames = ("Легкодымов", "Иванов", "Сейткали", "Омаров", "Петренко", "Ахметов", "Соловьев")
    derived = {
        (surname, place): derive_stored_fields(surname, "Емельян", None, "1904", *place, None, None).json
        for surname in surnames
        for place in places
    }
    now = utcnow()
    async with db.session() as session:
        batch = ImportBatch(source="bench", state=BatchState.FINISHED, finished_at=now)
        session.add(batch)
        request = SearchRequest(person_id=2 + VOLUNTEERS, surname="Легкодымов")
        session.add(request)
        await session.flush()
        batch_id, request_id = batch.id, request.id
    for start in range(0, readings, 10_000):
        rows = []
        for number in range(start, min(start + 10_000, readings)):
            surname, place = rng.choice(surnames), rng.choice(places)
            rows.append(
                {"id": number + 1, "reading_id": f"B-{number}", "surname": surname, "name": "Емельян",
                 "birth_year": "1904", "birthplace": place[0], "draft_office": place[1],
                 "derived": orjson.loads(derived[surname, place]), "engine_version": ENGINE_VERSION,
                 "content_hash": f"{number:064d}", "changed_batch": batch_id, "surname_norm": surname.lower()}
            )  # fmt: skip
        matches = [
            {"request_id": request_id, "reading_pk": row["id"], "score": 0.9,
             "notification": NotificationState.QUEUED}
            for row in rows if int(row["id"]) % 100 == 0
        ]  # fmt: skip
        async with db.session() as session:
            await session.execute(insert(Reading), rows)
            if matches:
                await session.execute(insert(Match), matches)


async def timed(session: aiohttp.ClientSession, url: str, authorization: str) -> float:
    began = time.perf_counter()
    async with session.get(url, headers={"Authorization": authorization}) as response:
        await response.read()
        assert response.status == 200, (url, response.status)
    return time.perf_counter() - began


def report(name: str, times: Sequence[float]) -> None:
    print(
        f"{name:44} {len(times):>5} {statistics.median(times) * 1000:9.1f}"
        f" {_percentile(times, 0.95) * 1000:9.1f} {max(times) * 1000:9.1f}"
    )


async def refreshing(db: Database, durations: list[float], stop: asyncio.Event) -> None:
    """Refresh the snapshot back to back until ``stop`` (the job at its busiest)."""
    while not stop.is_set():
        snapshot = await refresh_snapshot(db)
        assert snapshot is not None
        durations.append(snapshot.seconds)
        await asyncio.sleep(0)


async def measure(
    url: str, users: int, cases: int, requests: int, readings: int = 0, refreshes: int = 5
) -> None:
    db = Database(url)
    await db.upgrade()
    began = time.perf_counter()
    await fill(db, users, cases)
    print(f"filled {users:,} users and {cases:,} cases in {time.perf_counter() - began:.1f} s")
    if readings:
        began = time.perf_counter()
        await fill_registry(db, readings)
        print(f"filled {readings:,} readings in {time.perf_counter() - began:.1f} s")
    if not db.is_sqlite:
        # A database in service has been vacuumed by autovacuum: its index-only scans skip the rows.
        async with db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    settings = Settings(database={"url": url}, roles={"admins": [ADMIN]})  # type: ignore[arg-type]
    application = build_application(
        settings, db, token=TOKEN, base_url="http://127.0.0.1:9/bot", rate_limiter=False
    )
    port = _free_port()
    server = WebServer("127.0.0.1", port, checks={})
    server.add_routes(BoardApi(settings, db, TOKEN, BoardActions(application)).install)
    await server.start()
    base = f"http://127.0.0.1:{port}"

    def auth(user_id: int) -> str:
        fields: dict[str, Any] = {"user": {"id": user_id, "first_name": "V"}, "auth_date": int(time.time())}
        return "tma " + sign_init_data(fields, TOKEN)

    volunteer, admin = auth(2), auth(ADMIN)
    endpoints = {
        "/api/me": (volunteer, lambda: "/api/me"),
        **{
            f"/api/cases?filter={name}": (volunteer, lambda name=name: f"/api/cases?filter={name}")
            for name in ("open", "mine", "unclaimed", "waiting", "closed")
        },
        "/api/cases/<id>": (volunteer, lambda: f"/api/cases/{random.randrange(1, cases + 1)}"),
        "/api/stats": (admin, lambda: "/api/stats"),
    }
    try:
        # The background job: at start (the first refresh; with readings it counts the regions), then
        # once a period. Timed here in the open, as the job's own log line reports it.
        first = await refresh_snapshot(db)
        assert first is not None
        durations: list[float] = []
        for _ in range(refreshes):
            snapshot = await refresh_snapshot(db)
            assert snapshot is not None
            durations.append(snapshot.seconds)
        print(
            f"{'background refresh (not in a request)':44} {'runs':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}"
        )
        report("  the first (at start)", [first.seconds])
        report("  the next ones", durations)
        async with aiohttp.ClientSession() as session:
            print(f"{'endpoint':44} {'reqs':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
            for name, (authorization, path) in endpoints.items():
                await timed(session, base + path(), authorization)  # warm up
                report(name, [await timed(session, base + path(), authorization) for _ in range(requests)])
            # The same requests while the job refreshes back to back in this process (its worst case:
            # really it runs once a period, for the time printed above).
            stop, busy = asyncio.Event(), list[float]()
            job = asyncio.create_task(refreshing(db, busy, stop))
            try:
                for name in ("/api/stats", "/api/cases?filter=open"):
                    authorization, path = endpoints[name]
                    times = [await timed(session, base + path(), authorization) for _ in range(requests)]
                    report(f"{name} (during refreshes)", times)
            finally:
                stop.set()
                await job
            report("  the refreshes meanwhile", busy)
    finally:
        await server.stop()
        await db.dispose()


async def run(args: argparse.Namespace) -> None:
    if not args.postgres:
        with tempfile.TemporaryDirectory() as folder:
            await measure(
                f"sqlite+aiosqlite:///{Path(folder) / 'board.db'}",
                args.users,
                args.cases,
                args.requests,
                args.readings,
                args.refreshes,
            )
        return
    admin_url = async_database_url(args.postgres)
    name = f"amanat_bench_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        await measure(url, args.users, args.cases, args.requests, args.readings, args.refreshes)
    finally:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per endpoint")
    parser.add_argument("--readings", type=int, default=0, help="registry readings (the chart by region)")
    parser.add_argument("--refreshes", type=int, default=5, help="timed refreshes after the first")
    parser.add_argument(
        "--postgres", default="", help="an admin URL: the benchmark makes and drops its database"
    )
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
