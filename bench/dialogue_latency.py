"""Dialogue latency: update in → reply out, over real HTTP, with a large registry.

The real Application (bot.app.build_application, with its rate limiter) long-polls an in-process
BotApiStandIn; simulated relatives run whole dialogues (consent, /search step by step, the search from the
summary, one-message /search, a full record, /my). For every update the latency is the time from queueing
it in the stand-in to the arrival of the bot's first reply (sendMessage / editMessageText) at the stand-in —
what a user would wait for, minus Telegram's own network hops.

Updates are paced (default 15 per second, under Telegram's ~30 messages/s that AIORateLimiter enforces),
so the numbers are the bot's latency, not the rate limiter's queue.

    python -m bench.dialogue_latency --readings 1000000          # builds (and caches) the registry first
    python -m bench.dialogue_latency --readings 20000 --updates 300

The registry is generated with bench/make_sample_registry.py (in chunks of 50,000 with their own seeds),
imported with the real importer into a SQLite file under bench/out/ (kept for the next run), plus the
bundled sample registry.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLE = ROOT / "bot" / "data" / "sample_registry.csv"


CHUNK = 50_000


def write_registry_csv(readings: int, path: Path) -> None:
    """Generated readings in chunks of 50,000 (make_sample_registry's reading numbers run out near 600k),
    each chunk from its own seed, with reading ids made unique per chunk."""
    import csv

    sys.path.insert(0, str(HERE))
    import make_sample_registry as generator

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=generator.COLUMNS, lineterminator="\n")
        writer.writeheader()
        written = 0
        for chunk in range((readings + CHUNK - 1) // CHUNK):
            rows = generator.generate(min(CHUNK, readings - written), 1000 + chunk)
            for index, row in enumerate(rows):
                row["reading_id"] = f"B{chunk:03d}-{index:05d}-{row.get('reading_id') or 'x'}"
                writer.writerow({column: row.get(column, "") for column in generator.COLUMNS})
            written += len(rows)


async def build_registry(readings: int, out: Path) -> Path:
    """A SQLite database holding ``readings`` generated readings plus the sample registry (cached)."""
    from sqlalchemy import func, select

    from bot.services.registry_import import import_file
    from bot.services.registry_search import reindex_if_stale
    from models import Database, Reading

    db_path = out / f"dialogue_{readings}.db"
    url = f"sqlite+aiosqlite:///{db_path}"
    database = Database(url)
    try:
        await database.upgrade()
        async with database.session() as session:
            have = int(await session.scalar(select(func.count()).select_from(Reading)) or 0)
        if have >= readings:
            rebuilt = await reindex_if_stale(database)
            if rebuilt:
                print(f"re-derived {rebuilt} readings for the current engine", flush=True)
            return db_path
        csv_path = out / f"registry_{readings}.csv"
        if not csv_path.exists():
            print(f"generating {readings} readings → {csv_path}", flush=True)
            write_registry_csv(readings, csv_path)
        print(f"importing {csv_path} …", flush=True)
        started = time.perf_counter()
        await import_file(database, csv_path)
        await import_file(database, SAMPLE)
        print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        await database.dispose()
    return db_path


async def sample_queries(url: str, count: int, seed: int) -> list[tuple[str, str | None, str | None]]:
    """(surname, name, birth year) of random readings, as a relative might type them."""
    from sqlalchemy import func, select

    from models import Database, Reading

    database = Database(url)
    try:
        async with database.session() as session:
            top = int(await session.scalar(select(func.max(Reading.id))) or 0)
            rng = random.Random(seed)
            ids = [rng.randint(1, top) for _ in range(count * 2)]
            rows = (
                await session.execute(
                    select(Reading.surname, Reading.name, Reading.birth_year).where(Reading.id.in_(ids))
                )
            ).all()
    finally:
        await database.dispose()
    queries = []
    for surname, name, year in rows:
        surname = (
            surname.split("(")[0].split("/")[0].replace("?", "").replace("...", "").replace("…", "").strip()
        )
        if len(surname) < 3:
            continue
        clean_name = name.replace("?", "").replace("...", "").strip(" .") if name else None
        queries.append((surname, clean_name or None, year if year and year.isdigit() else None))
    return queries[:count] or [("Легкодымов", "Емельян", "1904")]


async def forget_earlier_runs(database: object) -> None:
    """Remove the simulated relatives of earlier runs (so every run starts with strangers)."""
    from sqlalchemy import delete

    from models import DialogueState, Person, SearchRequest

    async with database.session() as session:  # type: ignore[attr-defined]
        for model in (SearchRequest, DialogueState, Person):
            await session.execute(delete(model))


class Meter:
    """Update → first reply latency per step kind, from the stand-in's own request log."""

    def __init__(self, api: object) -> None:
        self.api = api
        self.samples: dict[str, list[float]] = defaultdict(list)

    async def measure(
        self, kind: str, chat_id: int, send: Awaitable[int], handled: Callable[[int], Awaitable[None]]
    ) -> None:
        calls_before = len(self.api.calls)  # type: ignore[attr-defined]
        queued = time.monotonic()
        update_id = await send  # the update is queued in the stand-in only now
        await handled(update_id)
        for call in self.api.calls[calls_before:]:  # type: ignore[attr-defined]
            if call.method in ("sendMessage", "editMessageText") and call.chat_id == chat_id:
                self.samples[kind].append((call.at - queued) * 1000)
                return
        raise RuntimeError(f"no reply to a {kind} update")


def timed_registry(
    opener: Callable[[Any], Awaitable[Any]], spent: list[float]
) -> Callable[[Any], Awaitable[Any]]:
    """An opener of the application's registry search whose searches record their own time (ms) in `spent`."""

    async def open_timed(database: Any) -> Any:
        registry = await opener(database)
        original = registry.search

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                spent.append((time.perf_counter() - started) * 1000)

        registry.search = timed
        return registry

    return open_timed


Step = Callable[[str, int, Awaitable[int]], Awaitable[None]]


async def one_dialogue(api: Any, user: Any, query: tuple[str, str | None, str | None], step: Step) -> None:
    """A relative's whole visit: consent, step-by-step search, a record, one-message search, /my."""
    surname, name, year = query
    uid = user.id
    await step("start", uid, api.send_text(user, "/start"))
    greeting = api.last_message(uid)
    await step("consent", uid, api.press(user, greeting, greeting.button_texts()[0]))
    await step("question", uid, api.send_text(user, "/search"))
    await step("question", uid, api.send_text(user, surname))
    await step("question", uid, api.send_text(user, name or "Иван"))
    ask = api.last_message(uid)
    await step("question", uid, api.press(user, ask, ask.button_texts()[0]))  # skip the patronymic
    await step("question", uid, api.send_text(user, year or "около 1915"))
    for _ in range(2):  # skip the birthplace and the draft office: the summary
        ask = api.last_message(uid)
        await step("question", uid, api.press(user, ask, ask.button_texts()[0]))
    summary = api.last_message(uid)
    await step("search", uid, api.press(user, summary, summary.button_texts()[0]))
    results = api.last_message(uid)
    first = results.all_buttons()[0].callback_data if results.all_buttons() else None
    if first and first.startswith("rec:"):
        await step("record", uid, api.press(user, results, results.button_texts()[0]))
    free = " ".join(part for part in (surname, name, year) if part)
    await step("search", uid, api.send_text(user, f"/search {free}"))
    await step("my", uid, api.send_text(user, "/my"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def run(args: argparse.Namespace) -> None:
    from bot.app import build_application
    from bot.config import Settings
    from bot.logs import cap_library_loggers
    from bot.services.registry_index import open_registry_index
    from bot.services.registry_search import StoredRegistry
    from botapi_standin import BotApiStandIn
    from models import Database

    cap_library_loggers()
    args.out.mkdir(parents=True, exist_ok=True)
    db_path = await build_registry(args.readings, args.out)
    url = f"sqlite+aiosqlite:///{db_path}"
    queries = await sample_queries(url, max(args.updates // 4, 10), args.seed)
    settings = Settings(database={"url": url})  # type: ignore[arg-type]

    database = Database(url)
    await forget_earlier_runs(database)

    async def open_registry(database: Any) -> Any:
        if not args.index:
            return StoredRegistry(database)
        # As `amanat run` does: the registry in memory, loaded once at start.
        loading = time.perf_counter()
        index = await open_registry_index(database)
        print(f"registry index loaded in {time.perf_counter() - loading:.1f} s", flush=True)
        return index

    api = BotApiStandIn()
    await api.start()
    search_ms: list[float] = []
    app = build_application(
        settings,
        database,
        token=api.token,
        base_url=api.base_url,
        open_registry=timed_registry(open_registry, search_ms),
    )
    handled_ids: set[int] = set()
    changed = asyncio.Event()

    def on_handled(update: object) -> None:
        update_id = getattr(update, "update_id", None)
        if isinstance(update_id, int):
            handled_ids.add(update_id)
            changed.set()

    async def handled(update_id: int) -> None:
        while update_id not in handled_ids:
            changed.clear()
            await asyncio.wait_for(changed.wait(), 60)

    app.update_listeners.append(on_handled)
    await app.begin_polling(poll_interval=0, timeout=10)
    meter = Meter(api)
    gap = 1.0 / args.rate
    rng = random.Random(args.seed)
    sent = 0

    async def step(kind: str, user_id: int, send: Awaitable[int]) -> None:
        nonlocal sent
        await meter.measure(kind, user_id, send, handled)
        sent += 1
        await asyncio.sleep(gap)

    started = time.perf_counter()
    try:
        user_id = 50_000
        while sent < args.updates:
            user_id += 1
            user = api.user(user_id, "Bench", language_code=rng.choice(["ru", "kk", "en"]))

            await one_dialogue(api, user, rng.choice(queries), step)
    finally:
        elapsed = time.perf_counter() - started
        await app.end_polling()
        await api.stop()
        await database.dispose()

    everything = [value for values in meter.samples.values() for value in values]
    print(f"\nregistry: {args.readings:,} generated readings (+ the bundled sample), SQLite {db_path.name}")
    print(
        f"updates: {len(everything)} in {elapsed:.1f} s, paced at {args.rate}/s; latency update → first reply, ms"
    )
    print(f"{'step':<10} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
    for kind in ["start", "consent", "question", "search", "record", "my"]:
        values = meter.samples.get(kind)
        if values:
            print(
                f"{kind:<10} {len(values):>5} {statistics.median(values):>8.1f} {percentile(values, 95):>8.1f} "
                f"{percentile(values, 99):>8.1f} {max(values):>8.1f}"
            )
    if search_ms:
        print(
            f"{'(of which the registry search)':<10}\n{'':<10} {len(search_ms):>5} {statistics.median(search_ms):>8.1f} "
            f"{percentile(search_ms, 95):>8.1f} {percentile(search_ms, 99):>8.1f} {max(search_ms):>8.1f}"
        )
    print(
        f"{'all':<10} {len(everything):>5} {statistics.median(everything):>8.1f} "
        f"{percentile(everything, 95):>8.1f} {percentile(everything, 99):>8.1f} {max(everything):>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=1_000_000, help="registry size (generated readings)")
    parser.add_argument("--updates", type=int, default=600, help="how many updates to measure")
    parser.add_argument("--rate", type=float, default=15.0, help="updates per second sent to the bot")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where the registry files are cached")
    parser.add_argument(
        "--index",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="search the in-memory registry index, as `amanat run` does (--no-index: the keys table)",
    )
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
