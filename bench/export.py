"""Export speed and memory: rows/s of `amanat export registry` (CSV and JSON lines) and peak memory.

A registry of N readings is written straight into a fresh database (the bundled sample's 400 readings
repeated under new ids, with an extra column on every tenth: the export reads only the raw columns, so
nothing derived is needed), then each export runs in its own process so that its peak memory (ru_maxrss)
is its own. "base MB" is the peak of a process that imports the same modules and opens the database
without exporting: the export's own memory is the difference, and it should not grow with N.

    python -m bench.export --rows 100000 1000000
    python -m bench.export --rows 1000000 --db postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from bot.cli import sample_registry_path
from bot.config import async_database_url
from bot.services.export import export_to_file, open_existing_database
from bot.services.import_reader import COLUMNS
from models import Database, ImportBatch, Reading
from models.base import utcnow
from tests.conftest import _create_postgres_database, _drop_postgres_database

HERE = Path(__file__).resolve().parent


async def fill(url: str, rows: int) -> None:
    with sample_registry_path().open(encoding="utf-8", newline="") as handle:
        sample = list(csv.DictReader(handle))
    db = Database(url)
    try:
        await db.upgrade()
        async with db.session() as session:
            batch = ImportBatch(source="bench", finished_at=utcnow())
            session.add(batch)
            await session.flush()
            batch_id = batch.id
        now = utcnow()
        chunk = 20_000
        for start in range(0, rows, chunk):
            values = []
            for number in range(start, min(start + chunk, rows)):
                row = sample[number % len(sample)]
                item = {column: (row.get(column) or None) for column in COLUMNS}
                item["reading_id"] = f"B-{number:08d}"
                item["extra"] = {"Лопата": f"штык {number}"} if number % 10 == 0 else {}
                item.update(
                    parsed={},
                    surname_norm="",
                    derived={},
                    engine_version="bench",
                    content_hash="-",
                    changed_batch=batch_id,
                    created_at=now,
                    updated_at=now,
                )
                values.append(item)
            async with db.session() as session:
                await session.execute(insert(Reading), values)
    finally:
        await db.dispose()


async def export_once(url: str, out: Path, fmt: str, export: bool) -> dict[str, float]:
    db = await open_existing_database(url)
    try:
        started = time.perf_counter()
        rows = 0
        size = 0
        if export:
            report = await export_to_file(db, "registry", out, fmt)  # type: ignore[arg-type]
            rows, size = report.rows, report.bytes
        seconds = time.perf_counter() - started
    finally:
        await db.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": rows, "seconds": seconds, "bytes": size, "peak_mb": peak_mb}


def child(args: argparse.Namespace) -> None:
    result = asyncio.run(export_once(args.url, Path(args.out), args.format, not args.baseline))
    print(json.dumps(result))


def run_child(url: str, out: Path, fmt: str, baseline: bool) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "bench.export",
        "--child",
        "--url",
        url,
        "--out",
        str(out),
        "--format",
        fmt,
    ]
    if baseline:
        command.append("--baseline")
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=HERE.parent)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def fresh_postgres(admin_url: str) -> str:
    return await _create_postgres_database(async_database_url(admin_url))


async def drop_postgres(admin_url: str, url: str) -> None:
    await _drop_postgres_database(async_database_url(admin_url), url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--db", default="", help="a PostgreSQL server URL (a database is made and dropped)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--format", default="csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(
        f"{'rows':>9} {'db':>10} {'format':>6} {'s':>7} {'rows/s':>9} {'MB/s':>6} {'MB out':>7} {'peak MB':>8} {'base MB':>8}"
    )
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="amanat-export-") as tmp:
            folder = Path(tmp)
            url = (
                asyncio.run(fresh_postgres(args.db))
                if args.db
                else f"sqlite+aiosqlite:///{folder / 'bench.db'}"
            )
            try:
                asyncio.run(fill(url, rows))
                base = run_child(url, folder / "none", "csv", baseline=True)
                for fmt in ("csv", "jsonl"):
                    out = folder / f"registry.{fmt}"
                    result = run_child(url, out, fmt, baseline=False)
                    assert result["rows"] == rows, result
                    seconds = result["seconds"]
                    print(
                        f"{rows:>9} {'postgresql' if args.db else 'sqlite':>10} {fmt:>6} {seconds:>7.1f} "
                        f"{rows / seconds:>9.0f} {result['bytes'] / seconds / 1e6:>6.1f} "
                        f"{result['bytes'] / 1e6:>7.0f} {result['peak_mb']:>8.0f} {base['peak_mb']:>8.0f}",
                        flush=True,
                    )
                    out.unlink()
            finally:
                if args.db:
                    asyncio.run(drop_postgres(args.db, url))


if __name__ == "__main__":
    main()
