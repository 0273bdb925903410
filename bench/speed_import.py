"""Import speed: rows/s of `import_file` into a fresh SQLite database, and peak memory per file size.

Each size runs in its own process so that peak memory (ru_maxrss) belongs to that size alone: memory that
does not grow with the file shows as about the same peak at each size (bench/README.md says how far it does).

Before each import, "ref s" times ten million additions in a Python loop: the speed of a shared virtual
machine varies from hour to hour (by up to two times here), so compare imports at a like reference, or
alternate the versions compared.

    python -m bench.speed_import --rows 100000 1000000
    python -m bench.speed_import --rows 100000 --repeat 3
    python -m bench.speed_import --rows 100000 --db postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def generate(rows: int, out: Path) -> None:
    if not out.exists():
        subprocess.run(
            [sys.executable, str(HERE / "make_sample_registry.py"), "--rows", str(rows), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )


async def import_once(csv_path: Path, url: str) -> dict[str, float]:
    from bench.matching import create_database
    from bot.services.registry_import import import_file
    from models import Database

    url, drop = await create_database(url)
    database = Database(url)
    try:
        await database.upgrade()
        started = time.perf_counter()
        report = await import_file(database, csv_path)
        elapsed = time.perf_counter() - started
    finally:
        await database.dispose()
        if drop is not None:
            await drop()
    return {
        "rows": report.rows_read,
        "imported": report.imported,
        "rejected": len(report.rejected),
        "seconds": round(elapsed, 2),
        "rows_per_s": round(report.rows_read / elapsed),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        # the largest worker process of a large file: reads, validates, derives, writes; 0: none
        "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def reference_seconds() -> float:
    """Seconds for ten million additions in a Python loop: this machine's speed just now."""
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    return round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--one", type=Path, help=argparse.SUPPRESS
    )  # internal: import this file and print JSON
    parser.add_argument("--repeat", type=int, default=1, help="imports of each size (default 1)")
    parser.add_argument("--keep", type=Path, default=HERE / "out", help="where generated files are cached")
    parser.add_argument(
        "--db", help="a PostgreSQL server URL (a fresh database is made there); default: a fresh SQLite file"
    )
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            print(json.dumps(asyncio.run(import_once(args.one, url))))
        return
    args.keep.mkdir(parents=True, exist_ok=True)
    print(
        f"{'rows':>10} {'imported':>9} {'rejected':>8} {'seconds':>8} {'rows/s':>8} {'peak MB':>8} "
        f"{'worker MB':>9} {'ref s':>6}"
    )
    for rows in args.rows:
        csv_path = args.keep / f"registry_{rows}.csv"
        generate(rows, csv_path)
        for _ in range(args.repeat):
            import_one(csv_path, args.db)


def import_one(csv_path: Path, db: str | None) -> None:
    reference = reference_seconds()
    done = subprocess.run(
        [sys.executable, "-m", "bench.speed_import", "--one", str(csv_path)] + (["--db", db] if db else []),
        check=True,
        capture_output=True,
        text=True,
        cwd=HERE.parent,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"{result['rows']:>10} {result['imported']:>9} {result['rejected']:>8} {result['seconds']:>8} "
        f"{result['rows_per_s']:>8} {result['peak_rss_mb']:>8} {result['worker_peak_rss_mb']:>9} "
        f"{reference:>6}",
        flush=True,
    )


if __name__ == "__main__":
    main()
