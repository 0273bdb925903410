"""Speed of the search engine on an in-memory registry of 100,000 and 1,000,000 readings.

    python -m bench.speed_engine                  # 100k and 1M (about 3 minutes, about 3 GB)
    python -m bench.speed_engine --sizes 100000   # one size

Prints, per size: the time to build the registry, derive() readings per second (on a fresh process
cache, so per-surname caching counts as it would in an import), p50/p95 per query, candidate counts
(blocked readings and the readings scored after the surname prefilter), and peak memory.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Sequence

from bench.noise import make_registry, make_soldier, relative_query
from bot.search import Query, Registry, derive

warnings.filterwarnings("ignore", category=DeprecationWarning)


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(size: int, queries: int, seed: int) -> None:
    rng = random.Random(seed)
    started = time.perf_counter()
    soldiers, records = make_registry(rng, size)
    generated = time.perf_counter() - started

    sample = records[: min(len(records), 200_000)]
    started = time.perf_counter()
    for record in sample:
        derive(record)
    derive_rate = len(sample) / (time.perf_counter() - started)

    gc.collect()
    started = time.perf_counter()
    registry = Registry()
    registry.add(records)
    built = time.perf_counter() - started
    gc.freeze()  # a long-lived index: keep the collector from walking it (see bench/README.md)

    cases: list[Query] = []
    for _ in range(queries):
        if rng.random() < 1 / 3:
            cases.append(relative_query(rng, make_soldier(rng)))
        else:
            cases.append(relative_query(rng, soldiers[rng.randrange(len(soldiers))]))
    for q in cases[:20]:  # warm the caches of the name table, pymorphy and the gazetteer
        registry.search(q)
    timings: list[float] = []
    for q in cases:
        started = time.perf_counter()
        registry.search(q)
        timings.append((time.perf_counter() - started) * 1000)
    blocked = [len(registry.candidates(q)) for q in cases]
    scored = [len(registry.scored_positions(q)) for q in cases]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{size:>9,} readings | generated {generated:5.1f} s | registry built {built:5.1f} s "
        f"({size / built:,.0f} readings/s) | derive() {derive_rate:,.0f} readings/s"
    )
    print(
        f"{'':>9}          | query p50 {statistics.median(timings):5.1f} ms, p95 {_percentile(timings, 0.95):5.1f} ms,"
        f" max {max(timings):6.1f} ms over {len(timings)} queries"
    )
    print(
        f"{'':>9}          | blocked readings p50 {statistics.median(blocked):,.0f}, p95 {_percentile(blocked, 0.95):,.0f};"
        f" scored p50 {statistics.median(scored):,.0f}, p95 {_percentile(scored, 0.95):,.0f}"
        f" | distinct keys {len(registry._index):,}, cells {len(registry._cells):,} | peak RSS {peak_mb:,.0f} MB"
    )
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=4_242)
    args = parser.parse_args(argv)
    for size in args.sizes:
        measure(size, args.queries, args.seed)
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
