"""Broadcast pace: an appeal to N recipients sent by the running bot (`amanat run`) to the Bot API stand-in.

The stand-in (in this process) enforces Telegram's flood limits (30 messages per second overall); the bot
(its own process, as deployed) sends the appeal from its broadcast job at `broadcast.rate_per_second`. The
achieved rate is measured at the stand-in, from the first accepted appeal message to the last:
(N - 1) / (t_last - t_first), and reported as a share of the configured rate, with the number of 429s.

    python -m bench.broadcast --recipients 10000
    python -m bench.broadcast --recipients 2000 --rate 30 --db postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.config import async_database_url
from bot.services.broadcast import send_appeal
from botapi_standin import BotApiStandIn, FloodLimits
from models import Database
from tests.amanat_process import amanat_env
from tests.appeals.appeal_scenario import appeal_to_all, delivery_states, users
from tests.conftest import _create_postgres_database, _drop_postgres_database

FIRST_ID = 1_000_000


def _environment(api: BotApiStandIn, url: str, rate: float) -> dict[str, str]:
    return amanat_env(
        url,
        api,
        AMANAT_BROADCAST__RATE_PER_SECOND=str(rate),
        AMANAT_WEB__PORT="0",
        AMANAT_LOG__LEVEL="WARNING",
    )


async def run(url: str, recipients: int, rate: float, workdir: Path) -> dict[str, float]:
    db = Database(url)
    await db.upgrade()
    async with BotApiStandIn(flood_limits=FloodLimits()) as api:
        everyone = await users(api, db, FIRST_ID, recipients)
        appeal_id = await appeal_to_all(db)
        await send_appeal(db, appeal_id)
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=_environment(api, url, rate),
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "bot.log").open("ab"),
        )
        try:
            guard = time.monotonic() + 120 + 3 * recipients / rate
            while (await delivery_states(db, appeal_id)).get("sent", 0) < recipients:
                if bot.poll() is not None:
                    raise SystemExit(f"the bot exited with {bot.returncode}; see {workdir / 'bot.log'}")
                if time.monotonic() > guard:
                    raise SystemExit("the broadcast did not finish in time")
                await asyncio.sleep(1.0)
        finally:
            bot.terminate()
            bot.wait(timeout=30)
        audience = set(everyone)
        sends = [call for call in api.calls_of("sendMessage") if call.chat_id in audience]
        accepted = sorted(call.at for call in sends if call.ok)
        limited = sum(1 for call in sends if call.status == 429)
    await db.dispose()
    elapsed = accepted[-1] - accepted[0]
    achieved = (len(accepted) - 1) / elapsed if elapsed > 0 else 0.0
    return {
        "recipients": recipients,
        "accepted": len(accepted),
        "seconds": elapsed,
        "rate": achieved,
        "share": achieved / rate,
        "429": limited,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="broadcast.rate_per_second (default 25)")
    parser.add_argument("--db", default="", help="a PostgreSQL server URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="amanat-bench-broadcast-") as scratch:
        workdir = Path(scratch)
        if args.db:
            admin = async_database_url(args.db)
            url = await _create_postgres_database(admin)
        else:
            url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        try:
            result = await run(url, args.recipients, args.rate, workdir)
        finally:
            if args.db:
                await _drop_postgres_database(admin, url)
    database = "PostgreSQL" if args.db else "SQLite"
    print("| recipients | database | configured /s | achieved /s | share | 429s | seconds |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {result['recipients']:,} | {database} | {args.rate:g} | {result['rate']:.2f} | "
        f"{result['share']:.1%} | {result['429']} | {result['seconds']:.0f} |"
    )


if __name__ == "__main__":
    asyncio.run(main())
