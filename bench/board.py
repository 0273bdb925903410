"""The web board's JSON endpoints under load: latency (p50, p95) of /api/me, /api/cases (every filter),
/api/cases/<id> and /api/stats over real HTTP, with many cases and people in the database.

The database is filled with Core inserts (people, cases in every status with their audit trail and two
messages each, a search log); the bot's web server serves the board (bot.board.api.BoardApi) on a free
port, and requests carry signed initData as Telegram's would. The statistics are cached for a minute by
the API: the first (uncached) request is reported on its own line.

    python -m bench.board                                  # 10,000 cases, 100,000 users, SQLite
    python -m bench.board --cases 2000 --users 20000 --requests 50
    python -m bench.board --postgres postgresql://postgres@127.0.0.1/postgres   # a database made and dropped

The goal of issue 18: p95 ≤ 100 ms for each endpoint at 10,000 cases and 100,000 users.
"""

from __future__ import annotations

import argparse
import asyncio
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
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_application
from bot.board.api import BoardApi
from bot.board.init_data import sign_init_data
from bot.config import Settings, async_database_url
from bot.web import WebServer
from handlers.web_board import BoardActions
from models import Case, CaseEvent, CaseMessage, Database, Person, Role, SearchLogEntry
from models.base import utcnow

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


async def timed(session: aiohttp.ClientSession, url: str, authorization: str) -> float:
    began = time.perf_counter()
    async with session.get(url, headers={"Authorization": authorization}) as response:
        await response.read()
        assert response.status == 200, (url, response.status)
    return time.perf_counter() - began


async def measure(url: str, users: int, cases: int, requests: int) -> None:
    db = Database(url)
    await db.upgrade()
    began = time.perf_counter()
    await fill(db, users, cases)
    print(f"filled {users:,} users and {cases:,} cases in {time.perf_counter() - began:.1f} s")
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
    }
    try:
        async with aiohttp.ClientSession() as session:
            print(f"{'endpoint':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            first = await timed(session, base + "/api/stats", admin)
            print(f"{'/api/stats (first, uncached)':32} {first * 1000:8.1f}")
            endpoints["/api/stats (cached)"] = (admin, lambda: "/api/stats")
            for name, (authorization, path) in endpoints.items():
                await timed(session, base + path(), authorization)  # warm up
                times = [await timed(session, base + path(), authorization) for _ in range(requests)]
                print(
                    f"{name:32} {statistics.median(times) * 1000:8.1f} {_percentile(times, 0.95) * 1000:8.1f}"
                    f" {max(times) * 1000:8.1f}"
                )
    finally:
        await server.stop()
        await db.dispose()


async def run(args: argparse.Namespace) -> None:
    if not args.postgres:
        with tempfile.TemporaryDirectory() as folder:
            await measure(
                f"sqlite+aiosqlite:///{Path(folder) / 'board.db'}", args.users, args.cases, args.requests
            )
        return
    admin_url = async_database_url(args.postgres)
    name = f"amanat_bench_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        await measure(url, args.users, args.cases, args.requests)
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
    parser.add_argument(
        "--postgres", default="", help="an admin URL: the benchmark makes and drops its database"
    )
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
