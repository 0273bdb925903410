"""Matching job speed: N new readings against M saved searches, one `run_matching_pass`, DB writes included.

The saved searches are what relatives type (bench/noise.py: transliterations, today's Kazakh spelling,
declined forms, typos, approximate years); the new readings are medallion readings with their damage. A
share of the new readings (`--planted`) are of soldiers somebody is looking for, so the pass has real
matches to record and notifications to queue; the rest are of other men.

What is timed: the pass itself (`bot.services.matching.run_matching_pass`): loading the active searches,
building the reverse index, reading the new readings and their keys, scoring, and the transactions that
write the matches, the outbox messages, the counters and the watermark. Not timed: generating the data,
inserting the searches and importing the readings (`import_file`, the same code as `amanat import`).

Two passes are measured on the same data: "cold" (the searches' keys are derived in the pass, as on the
first pass after they were saved or after an engine upgrade) and "warm" (keys stored by an earlier pass;
the database is reset to before the first pass, so the same readings are matched again).

    python -m bench.matching                       # 10,000 readings x 100,000 searches, SQLite
    python -m bench.matching --readings 2000 --searches 20000
    python -m bench.matching --db postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.noise import make_soldier, medallion_reading, relative_query, write_registry_csv
from bot.services import review

SEED = 5_2026


def generate(
    readings: int, searches: int, planted: float, seed: int, registry: int
) -> tuple[list[Any], list[Any], set[tuple[int, str]], list[Any]]:
    """Searches as (person id, Query), new readings, the (person id, reading id) pairs planted, and the
    registry already there (other men; it makes the registry size, and so the scores, realistic)."""
    rng = random.Random(seed)
    background = [medallion_reading(rng, make_soldier(rng), f"old-{i}") for i in range(registry)]
    soldiers = [make_soldier(rng) for _ in range(searches)]
    queries = [(100_000 + i, relative_query(rng, soldier)) for i, soldier in enumerate(soldiers)]
    records = []
    truth: set[tuple[int, str]] = set()
    for i in range(readings):
        if rng.random() < planted:
            k = rng.randrange(searches)
            record = medallion_reading(rng, soldiers[k], f"new-{i}")
            truth.add((queries[k][0], record.reading_id))
        else:
            record = medallion_reading(rng, make_soldier(rng), f"new-{i}")
        records.append(record)
    return queries, records, truth, background


async def create_database(url: str) -> tuple[str, Any]:
    """A fresh database: a file for SQLite, a new database on the server for PostgreSQL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.config import async_database_url

    url = async_database_url(url)
    if url.startswith("sqlite"):
        return url, None
    name = f"amanat_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))

    async def drop() -> None:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


async def run(args: argparse.Namespace) -> None:
    from sqlalchemy import delete, func, insert, select, update

    from bot.config import load_config
    from bot.services import matching
    from bot.services.registry_import import import_file
    from models import Database, ImportBatch, Match, OutboxMessage, Person, SearchRequest, Watermark

    if args.record_min is not None:
        matching.RECORD_MIN_SCORE = args.record_min
    started = time.perf_counter()
    queries, records, truth, background = generate(
        args.readings, args.searches, args.planted, args.seed, args.registry
    )
    print(
        f"generated {len(queries):,} searches, {len(records):,} new readings and a registry of "
        f"{len(background):,} in {time.perf_counter() - started:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        url, drop = await create_database(url)
        db = Database(url)
        try:
            await db.upgrade()
            async with db.session() as session:
                people = [{"id": pid, "language": "ru"} for pid, _ in queries]
                for start in range(0, len(people), 5000):
                    await session.execute(insert(Person), people[start : start + 5000])
                rows = [
                    {
                        "person_id": pid,
                        "surname": q.surname,
                        "name": q.name,
                        "patronymic": q.patronymic,
                        "birth_year": q.birth_year,
                        "birth_year_to": q.birth_year_to,
                        "birthplace": q.birthplace,
                        "relative": q.relative,
                        "family_place": q.family_place,
                    }
                    for pid, q in queries
                ]
                for start in range(0, len(rows), 5000):
                    await session.execute(insert(SearchRequest), rows[start : start + 5000])
            if background:  # the registry as it was before: already matched (the watermark is past it)
                old_path = Path(tmp) / "old.csv"
                write_registry_csv(background, old_path)
                await import_file(db, old_path)
                async with db.session() as session:
                    last = await session.scalar(select(func.max(ImportBatch.id)))
                    session.add(Watermark(name="matching", value=int(last or 0)))
            csv_path = Path(tmp) / "new.csv"
            write_registry_csv(records, csv_path)
            t0 = time.perf_counter()
            await import_file(db, csv_path)
            print(
                f"imported {len(records):,} new readings in {time.perf_counter() - t0:.1f} s (not timed below)"
            )

            settings = load_config(database={"url": url})
            results = []
            for label in ("cold",) if args.cold_only else ("cold", "warm"):
                if label == "warm":  # back to before the pass; the searches keep their stored keys
                    async with db.session() as session:
                        await session.execute(delete(OutboxMessage))
                        await session.execute(delete(Match))
                        await session.execute(update(Watermark).values(value=1 if background else 0))
                        await session.execute(delete(Watermark).where(Watermark.name != "matching"))
                        await session.execute(update(SearchRequest).values(checked_readings=0))
                captured: list[tuple[int, str, Any]] = []  # (person id, reading id, candidate)
                real_record = matching._record_chunk

                async def record_and_capture(
                    db_: Any,
                    index: Any,
                    chunk: Any,
                    candidates: Any,
                    captured: list[tuple[int, str, Any]] = captured,
                    real_record: Any = real_record,
                    **kw: Any,
                ) -> Any:
                    ids = {reading.pk: reading.reading_id for reading in chunk.readings}
                    captured.extend(
                        (index.person_ids[c.search_index], ids[c.reading_pk], c) for c in candidates
                    )
                    return await real_record(db_, index, chunk, candidates, **kw)

                matching._record_chunk = record_and_capture  # type: ignore[assignment]
                try:
                    report = await matching.run_matching_pass(db, settings)
                finally:
                    matching._record_chunk = real_record  # type: ignore[assignment]
                async with db.session() as session:
                    found = {
                        (pid, rid)
                        for pid, rid in await session.execute(
                            select(SearchRequest.person_id, matching.Reading.reading_id)
                            .join(Match, Match.request_id == SearchRequest.id)
                            .join(matching.Reading, matching.Reading.id == Match.reading_pk)
                        )
                    }
                    told = {
                        (pid, payload["reading_id"])
                        for pid, payload in await session.execute(
                            select(OutboxMessage.chat_id, OutboxMessage.payload)
                        )
                    }
                    strong = await session.scalar(select(func.count()).select_from(Match).where(Match.strong))
                recall = len(truth & found) / max(len(truth), 1)
                told_recall = len(truth & told) / max(len(truth), 1)
                results.append((label, report))
                if label == "cold":  # how a notification threshold would trade precision for recall
                    rules: list[tuple[str, Any]] = [
                        ("score >= 20", lambda c: True),
                        *((f"score >= {t}", lambda c, t=t: c.score >= t) for t in (40, 50, 60, 70, 80, 90)),
                        ("strong", lambda c: c.strong),
                        *(
                            (f"alone >= {t}", lambda c, t=t: c.alone >= t)
                            for t in (0.5, 0.8, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995)
                        ),
                        ("strong or alone >= 0.95", lambda c: c.strong or c.alone >= 0.95),
                        ("strong and alone >= 0.9", lambda c: c.strong and c.alone >= 0.9),
                    ]
                    for name, keep in rules:
                        chosen = {(pid, rid) for pid, rid, c in captured if keep(c)}
                        hits = len(chosen & truth)
                        print(
                            f"  {name:>24}: {len(chosen):6,} pairs, precision {hits / max(len(chosen), 1):.3f}, "
                            f"recall {hits / max(len(truth), 1):.3f}"
                        )
                    hits = len(told & truth)
                    print(
                        f"  {'notified':>24}: {len(told):6,} pairs, precision {hits / max(len(told), 1):.3f}, "
                        f"recall {hits / max(len(truth), 1):.3f}"
                    )
                    print_review_queue(await review.queue_pairs(db), told, truth, args.readings)
                    if args.explore:
                        explore(captured, told, truth, args.readings)
                print(
                    f"{label} pass: {report.seconds:.1f} s — {report.readings:,} readings × {report.searches:,} "
                    f"searches; {report.pairs_scored:,} pairs scored; {report.matches:,} matches "
                    f"({strong:,} strong), {report.notifications:,} notifications; planted pairs: "
                    f"{len(truth):,}, recorded {recall:.3f}, notified {told_recall:.3f}"
                )
        finally:
            await db.dispose()
            if drop is not None:
                await drop()


def print_review_queue(
    queue: list[tuple[int, str, float]],
    told: set[tuple[int, str]],
    truth: set[tuple[int, str]],
    readings: int,
) -> None:
    """The volunteers' review queue (bot.services.review): the unannounced matches, most likely first.

    queue recall: the share of planted pairs that reach the relative directly or the queue; precision in
    the queue's first fifth: how high the true pairs sit; its size per 10,000 new readings: the load."""
    pairs = [(pid, rid) for pid, rid, _ in queue]
    reached = told | set(pairs)
    fifth = pairs[: max(math.ceil(len(pairs) * 0.2), 1)] if pairs else []
    print(
        f"  {'review queue':>24}: {len(pairs):6,} pairs ({len(pairs) * 10_000 / max(readings, 1):,.0f} per 10,000 "
        f"readings); queue recall (notified or queued) {len(truth & reached) / max(len(truth), 1):.3f}; "
        f"precision in the first 20 % ({len(fifth):,}) {len(set(fifth) & truth) / max(len(fifth), 1):.3f}"
    )


def explore(
    captured: list[tuple[int, str, Any]],
    told: set[tuple[int, str]],
    truth: set[tuple[int, str]],
    readings: int,
) -> None:
    """What other recording rules and queue orders would give (every pair the pass scored: run with
    ``--record-min 0`` for the pairs below today's cut-off too)."""
    from collections import defaultdict

    scored = {(pid, rid) for pid, rid, _ in captured}
    print(
        "  true pairs the pass recorded (with --record-min 0: scored at all, sharing a key): "
        f"{len(truth & scored) / max(len(truth), 1):.3f}"
    )
    best: dict[tuple[int, str], Any] = {}
    for pid, rid, c in captured:
        if (pid, rid) not in best or c.score > best[(pid, rid)].score:
            best[(pid, rid)] = c

    def odds(c: Any) -> float:
        return min(c.alone, 1 - 1e-12) / max(1 - c.alone, 1e-12)

    per_reading: dict[str, float] = defaultdict(float)
    for (_pid, rid), c in best.items():
        per_reading[rid] += odds(c)

    def share(pair: tuple[int, str], c: Any) -> float:  # the reading's chance to be this search's man
        return odds(c) / (1 + per_reading[pair[1]])

    def joint(pair: tuple[int, str], c: Any) -> float:  # both competitions: the registry's and the searches'
        o = odds(c)
        rest = o * 100 / max(c.score, 1e-9) - o  # 1 + the registry's competition, from the score
        return o / (rest + per_reading[pair[1]])

    orders = {
        "score": lambda pair, c: c.score,
        "alone": lambda pair, c: c.alone,
        "share": share,
        "joint": joint,
        "engine joint": lambda pair, c: c.joint,
    }
    rules = (
        ("recorded", lambda pair, c: True),
        ("score >= 20", lambda pair, c: c.score >= 20),
        ("score>=20|joint>=.1", lambda pair, c: c.score >= 20 or joint(pair, c) >= 0.1),
        ("score >= 10", lambda pair, c: c.score >= 10),
        ("score >= 5", lambda pair, c: c.score >= 5),
        ("score >= 2", lambda pair, c: c.score >= 2),
        ("alone >= 0.3", lambda pair, c: c.alone >= 0.3),
        ("alone >= 0.1", lambda pair, c: c.alone >= 0.1),
        ("joint >= 0.05", lambda pair, c: joint(pair, c) >= 0.05),
        ("joint >= 0.1", lambda pair, c: joint(pair, c) >= 0.1),
        ("joint >= 0.2", lambda pair, c: joint(pair, c) >= 0.2),
        ("share >= 0.1", lambda pair, c: share(pair, c) >= 0.1),
        ("share >= 0.2", lambda pair, c: share(pair, c) >= 0.2),
    )
    for name, keep in rules:
        for order, key in orders.items():
            queue = sorted(
                ((pair, c) for pair, c in best.items() if keep(pair, c) and pair not in told),
                key=lambda item: -key(*item),
            )
            pairs = [pair for pair, _ in queue]
            fifth = pairs[: max(math.ceil(len(pairs) * 0.2), 1)]
            reached = told | set(pairs)
            print(
                f"  record {name:>19}, by {order:>12}: queue {len(pairs) * 10_000 / max(readings, 1):7,.0f} per 10k; "
                f"recall {len(truth & reached) / max(len(truth), 1):.3f}; "
                f"first 20 % {len(set(fifth) & truth) / max(len(fifth), 1):.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=100_000)
    parser.add_argument("--planted", type=float, default=0.1, help="share of readings of a searched soldier")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--registry", type=int, default=100_000, help="readings already in the registry")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--cold-only", action="store_true", help="the first pass only")
    parser.add_argument("--explore", action="store_true", help="other recording rules and queue orders")
    parser.add_argument(
        "--record-min", type=float, help="record pairs from this score (diagnostics; default: the pass's)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
