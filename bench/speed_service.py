"""Speed of the bot's search service at scale: the in-memory registry index over a SQLite registry.

    python -m bench.speed_service                      # 1,000,000 readings (first run builds the file)
    python -m bench.speed_service --size 100000 --queries 300

The registry is generated with bench/noise.py (the same soldiers and relatives' queries as
bench/speed_engine.py), written to a CSV and imported with the real importer into
``bench/out/service_<size>.db`` (kept for the next run; a child process builds it, so this process's
memory is the index's). Then, in a fresh process, it measures:

* loading the `bot.services.registry_index.RegistryIndex` from the stored derived data (time,
  rows/s, resident memory added by the index);
* ``RegistryIndex.search(query, limit=5)`` (what a dialogue step calls):
  p50/p95/max over the queries, including reading the shown readings from the database;
* the same call without the index (the keys table, ``StoredRegistry.search``) on a few queries, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import pickle
import random
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)

OUT = Path(__file__).resolve().parent / "out"


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _paths(size: int) -> tuple[Path, Path, Path]:
    return OUT / f"service_{size}.db", OUT / f"service_{size}.csv", OUT / f"service_{size}_queries.pkl"


def build(size: int, queries: int, seed: int) -> None:
    """Generates the registry and the queries, imports the registry into a SQLite file."""
    from bench.noise import make_registry, make_soldier, relative_query, write_registry_csv
    from bot.services.registry_import import import_file
    from models import Database

    db_path, csv_path, queries_path = _paths(size)
    OUT.mkdir(exist_ok=True)
    rng = random.Random(seed)
    started = time.perf_counter()
    soldiers, records = make_registry(rng, size)
    cases = []
    for _ in range(queries):
        if rng.random() < 1 / 3:
            cases.append(relative_query(rng, make_soldier(rng)))
        else:
            cases.append(relative_query(rng, soldiers[rng.randrange(len(soldiers))]))
    write_registry_csv(records, csv_path)
    queries_path.write_bytes(pickle.dumps(cases))
    print(
        f"generated {size:,} readings and {queries} queries in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    del soldiers, records

    async def run() -> None:
        building = db_path.with_suffix(".building")  # renamed when complete
        building.unlink(missing_ok=True)
        database = Database(f"sqlite+aiosqlite:///{building}")
        try:
            await database.upgrade()
            started = time.perf_counter()
            report = await import_file(database, csv_path)
            elapsed = time.perf_counter() - started
            print(
                f"imported {report.inserted:,} readings in {elapsed:.0f} s ({report.inserted / elapsed:,.0f}/s)"
            )
        finally:
            await database.dispose()

    asyncio.run(run())
    db_path.with_suffix(".building").rename(db_path)
    csv_path.unlink()


async def measure(size: int, queries: int, stored_queries: int) -> None:
    from bot.services.registry_index import open_registry_index
    from bot.services.registry_search import StoredRegistry
    from models import Database

    db_path, _, queries_path = _paths(size)
    cases = pickle.loads(queries_path.read_bytes())[:queries]
    database = Database(f"sqlite+aiosqlite:///{db_path}")
    try:
        stored = StoredRegistry(database)
        await stored.search(cases[0])  # open the pool, warm the engine's imports
        gc.collect()
        before = _rss_mb()
        started = time.perf_counter()
        index = await open_registry_index(database)
        loaded = time.perf_counter() - started
        after = _rss_mb()
        print(
            f"{len(index):>9,} readings | index loaded in {loaded:.1f} s ({len(index) / loaded:,.0f} readings/s, "
            f"with gc.freeze) | resident memory {before:,.0f} → {after:,.0f} MB (+{after - before:,.0f} MB)",
            flush=True,
        )
        for q in cases[:20]:  # warm the caches of the name table, pymorphy and the gazetteer
            await index.search(q, limit=5)
        timings: list[float] = []
        for q in cases:
            started = time.perf_counter()
            await index.search(q, limit=5)
            timings.append((time.perf_counter() - started) * 1000)
        print(
            f"{'':>9}          | the registry index search: p50 {statistics.median(timings):.1f} ms, "
            f"p95 {_percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms over {len(timings)} queries",
            flush=True,
        )
        await index.close()
        if stored_queries:
            timings = []
            for q in cases[:stored_queries]:
                started = time.perf_counter()
                await stored.search(q, limit=5)
                timings.append((time.perf_counter() - started) * 1000)
            print(
                f"{'':>9}          | without the index (keys table): p50 {statistics.median(timings):.0f} ms, "
                f"p95 {_percentile(timings, 0.95):.0f} ms, max {max(timings):.0f} ms over {len(timings)} queries",
                flush=True,
            )
        print(f"{'':>9}          | peak resident memory {_peak_mb():,.0f} MB")
    finally:
        await database.dispose()


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--stored-queries", type=int, default=50, help="queries timed without the index")
    parser.add_argument("--seed", type=int, default=4_242)
    parser.add_argument("--build", action="store_true", help="only build the registry file (run by main)")
    args = parser.parse_args(argv)
    if args.build:
        build(args.size, args.queries, args.seed)
        return 0
    db_path, _, queries_path = _paths(args.size)
    if not db_path.exists() or not queries_path.exists():
        command = [sys.executable, "-m", "bench.speed_service", "--build", "--size", str(args.size)]
        command += ["--queries", str(max(args.queries, 500)), "--seed", str(args.seed)]
        subprocess.run(command, check=True)
    asyncio.run(measure(args.size, args.queries, args.stored_queries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
