"""Load: N relatives at once doing /start, consent and a search, against Telegram's limits, on PostgreSQL.

    python -m bench.load --users 200
    python -m bench.load --users 50 --database postgresql://postgres@127.0.0.1:5432/postgres

A fresh PostgreSQL database is created next to ``--database`` (default ``AMANAT_TEST_POSTGRES_URL``, else
the local server), migrated, loaded with the bundled sample registry, and dropped at the end. The Bot API
stand-in runs here with Telegram's published flood limits (30 messages/s overall, 1/s per private chat after
a burst of 3: :class:`botapi_standin.FloodLimits`); the bot is a real ``python -m bot run`` process (long
polling) on that database.

Every relative sends /start, presses "agree", and sends ``/search Легкодымова Емельяна 1904``, each step
after the previous answer. For every update the latency is the time from queueing it at the stand-in to the
bot's reply arriving there. Reported:

* under load (all N at once): p50/p95/p99 of update → reply, every update answered or not, 429s seen, and
  replies per second from the first update to the last reply, as a share of Telegram's 30/s;
* a reply's own work: the same three steps for a few relatives one after another (no queue for the send
  budget), p50/p95 — what a reply costs the bot when it does not wait for Telegram's limits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import async_database_url
from bot.services.registry_import import import_file
from botapi_standin import BotApiStandIn, FloodLimits, SimUser
from models import Database

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "bot" / "data" / "sample_registry.csv"
OUT = ROOT / "bench" / "out"
TELEGRAM_PER_SECOND = 30.0
GUARD = 600.0  # a hang guard, not a measurement


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _create_database(admin_url: str) -> str:
    name = f"amanat_load_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def _drop_database(admin_url: str, url: str) -> None:
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def visit(api: BotApiStandIn, user: SimUser, latencies: list[float]) -> None:
    """/start, agree, one search: each step after the answer to the one before."""

    async def step(send: object) -> list[object]:
        started = time.perf_counter()
        await send  # type: ignore[misc]
        replies = await api.wait_for_messages(user.id, timeout=GUARD)
        latencies.append(time.perf_counter() - started)
        return replies  # type: ignore[return-value]

    [greeting] = await step(api.send_text(user, "/start"))
    await step(api.press(user, greeting, greeting.button_texts()[0]))  # type: ignore[attr-defined]
    await step(api.send_text(user, "/search Легкодымова Емельяна 1904"))


async def measure(users: int, quiet: int, admin_url: str) -> None:
    url = await _create_database(admin_url)
    try:
        database = Database(url)
        try:
            await database.upgrade()
            await import_file(database, SAMPLE)
        finally:
            await database.dispose()
        OUT.mkdir(exist_ok=True)
        async with BotApiStandIn(flood_limits=FloodLimits()) as api:
            env = {key: value for key, value in os.environ.items() if not key.startswith("AMANAT_")}
            env.update(
                {
                    "AMANAT_DATABASE__URL": url,
                    "AMANAT_TELEGRAM__TOKEN": api.token,
                    "AMANAT_TELEGRAM__BASE_URL": api.base_url,
                    "AMANAT_TELEGRAM__BASE_FILE_URL": api.base_file_url,
                    "AMANAT_TELEGRAM__POLL_TIMEOUT_SECONDS": "1",
                    "AMANAT_MATCHING__INTERVAL_SECONDS": "3600",
                    "AMANAT_WEB__PORT": "0",
                }
            )
            with (OUT / "load.log").open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "bot", "run"], env=env, cwd=ROOT, stdout=log, stderr=log
                )
                try:
                    # Warm up (imports, pools, the index) with one relative who is not counted.
                    await visit(api, api.user(10_000_000, "warm", language_code="ru"), [])
                    quiet_latencies: list[float] = []
                    for n in range(quiet):
                        await visit(
                            api, api.user(20_000_000 + n, "quiet", language_code="ru"), quiet_latencies
                        )
                    sends_before = len(api.calls_of("sendMessage"))
                    latencies: list[float] = []
                    people = [api.user(30_000_000 + n, "load", language_code="ru") for n in range(users)]
                    started = time.perf_counter()
                    results = await asyncio.gather(
                        *(visit(api, person, latencies) for person in people), return_exceptions=True
                    )
                    elapsed = time.perf_counter() - started
                finally:
                    process.terminate()
                    process.wait(timeout=60)
            replies = len(api.calls_of("sendMessage")) - sends_before
            rejected = sum(1 for call in api.calls if not call.ok and call.method != "getUpdates")
        failed = sum(1 for result in results if isinstance(result, BaseException))
        rate = replies / elapsed
        print(f"{users} relatives at once, 3 updates each, PostgreSQL, stand-in with Telegram's limits")
        print(
            f"  answered: {users - failed}/{users} relatives ({len(latencies)} of {3 * users} updates); "
            f"rejected calls (429 or other): {rejected}"
        )
        print(
            f"  update → reply: p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {_percentile(latencies, 0.95) * 1000:.0f} ms, p99 {_percentile(latencies, 0.99) * 1000:.0f} ms"
        )
        print(
            f"  throughput: {replies} replies in {elapsed:.1f} s = {rate:.1f}/s = "
            f"{rate / TELEGRAM_PER_SECOND:.0%} of Telegram's {TELEGRAM_PER_SECOND:.0f}/s"
        )
        if quiet_latencies:
            print(
                f"  a reply's own work ({quiet} relatives one after another): "
                f"p50 {statistics.median(quiet_latencies) * 1000:.0f} ms, "
                f"p95 {_percentile(quiet_latencies, 0.95) * 1000:.0f} ms"
            )
    finally:
        await _drop_database(admin_url, url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--quiet", type=int, default=20, help="relatives timed one after another")
    parser.add_argument(
        "--database",
        default=os.environ.get("AMANAT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server's URL (a role that may create databases)",
    )
    args = parser.parse_args(argv)
    asyncio.run(measure(args.users, args.quiet, async_database_url(args.database)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
