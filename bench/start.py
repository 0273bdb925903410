"""Start to first answer: `amanat run` over a 1,000,000-reading registry, from process start to a search answered.

    python -m bench.start                 # 1,000,000 readings (bench/out/service_1000000.db, built once)
    python -m bench.start --size 100000

The registry file is the one bench/speed_service.py builds (generated with bench/noise.py, imported with
the real importer) and keeps in ``bench/out/``; a copy is used so the cached file stays as built. The bench
starts the Bot API stand-in, gives consent for one relative in the database, queues their
``/search Легкодымова Емельяна 1904`` before the bot exists, starts ``python -m bot run`` (long polling)
and measures, from the moment the process is started:

* the first answer: the stand-in receives the bot's reply to that /search;
* the index loaded: the process logs that its in-memory registry index is ready (searches switch to it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot.services.people import give_consent
from botapi_standin import BotApiStandIn
from models import Database

OUT = Path(__file__).resolve().parent / "out"
REPO = Path(__file__).resolve().parent.parent
LOADED = re.compile(r"registry index: ([\d,]+) readings loaded in ([\d.]+) s")


async def measure(size: int) -> None:
    source = OUT / f"service_{size}.db"
    if not source.exists():
        command = [sys.executable, "-m", "bench.speed_service", "--build", "--size", str(size)]
        subprocess.run(command, check=True, cwd=REPO)
    db_path = OUT / f"start_{size}.db"
    shutil.copyfile(source, db_path)
    url = f"sqlite+aiosqlite:///{db_path}"
    relative = 777001
    database = Database(url)
    try:
        await give_consent(database, relative, "ru")
    finally:
        await database.dispose()
    log_path = OUT / "start.log"
    async with BotApiStandIn() as api:
        user = api.user(relative, "Алия", language_code="ru")
        await api.send_text(user, "/search Легкодымова Емельяна 1904")
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
        started = time.perf_counter()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], env=env, cwd=REPO, stdout=log, stderr=log
            )
            try:
                await api.wait_for_messages(relative, timeout=300)
                answered = time.perf_counter() - started
                print(f"{size:,} readings | first answer {answered:.1f} s after start", flush=True)
                loaded = None
                deadline = time.perf_counter() + 300
                while loaded is None and time.perf_counter() < deadline and process.poll() is None:
                    found = LOADED.search(log_path.read_text(encoding="utf-8", errors="replace"))
                    if found:
                        loaded = time.perf_counter() - started
                    else:
                        await asyncio.sleep(0.2)
                if loaded is not None:
                    print(f"{'':>9}          | the in-memory index ready {loaded:.1f} s after start")
            finally:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    db_path.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    asyncio.run(measure(args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
