"""The matching pass: new readings against active saved searches, each pair recorded once, nothing lost."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from matching_scenario import (
    LEGKODYMOV,
    STRANGER,
    import_rows,
    matches,
    outbox,
    relative,
    saved_search,
)
from sqlalchemy import select, update

from bot.config import Settings, load_config
from bot.services import matching
from bot.services.heartbeat import queue_heartbeats
from bot.services.import_batches import batch_overview, finish_lost_batch, process_identity
from bot.services.locks import job_lock
from bot.services.matching import run_matching_pass
from bot.services.outbox import Outgoing, deliver_pending
from bot.services.people import forget_person
from bot.services.registry_index import RegistryIndex, open_registry_index
from bot.services.saved_searches import delete_request, set_search_paused
from handlers.notifications import RENDERERS
from models import BatchState, Database, ImportBatch, Match, NotificationState, SearchRequest
from models.base import utcnow


def settings(**matching_values: Any) -> Settings:
    return load_config(matching={"batch_size": 2000, **matching_values})


async def test_a_new_reading_that_fits_a_saved_search_is_recorded_and_queued_once(
    any_db: Database, tmp_path: Path
) -> None:
    await relative(any_db, 7, "kk")
    request_id = await saved_search(any_db, 7)
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV, STRANGER)

    report = await run_matching_pass(any_db, settings())

    assert (report.readings, report.matches, report.notifications) == (2, 1, 1)
    assert gc.isenabled()  # held off during the pass only
    [match] = await matches(any_db)
    assert match.request_id == request_id and match.strong and match.notification == NotificationState.QUEUED
    [message] = await outbox(any_db)
    assert (message.chat_id, message.kind, message.dedup_key) == (7, "match", f"match:{match.id}")
    payload = message.payload
    assert payload["reading_id"] == "KZ-2019-0142" and payload["strong"] is True
    assert payload["request"] == "Лехкодымов Емельян, 1904"
    assert ["year_exact", {"year": "1904"}] in payload["reasons"]

    again = await run_matching_pass(any_db, settings())
    assert (again.readings, again.matches, again.notifications) == (0, 0, 0)
    await import_rows(any_db, tmp_path / "same.csv", LEGKODYMOV)  # the same file again: nothing changed
    assert (await run_matching_pass(any_db, settings())).readings == 0
    changed = {**LEGKODYMOV, "burial_place": "Мемориал, Мосальск"}  # a corrected reading: checked again
    await import_rows(any_db, tmp_path / "changed.csv", changed)
    third = await run_matching_pass(any_db, settings())
    assert (third.readings, third.matches, third.notifications) == (1, 0, 0)
    assert len(await outbox(any_db)) == 1


async def test_a_pair_recorded_before_is_ignored_not_an_error(any_db: Database, tmp_path: Path) -> None:
    await relative(any_db, 7)
    request_id = await saved_search(any_db, 7)
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)
    async with any_db.session() as session:  # e.g. a pass that crashed after its commit, before the watermark
        reading_pk = await session.scalar(select(matching.Reading.id))
        session.add(Match(request_id=request_id, reading_pk=reading_pk, score=99.0, strong=True))
    report = await run_matching_pass(any_db, settings())
    assert (report.readings, report.matches, report.notifications) == (1, 0, 0)
    assert len(await matches(any_db)) == 1


async def test_a_pass_that_dies_midway_resumes_and_doubles_nothing(
    any_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await relative(any_db, 7)
    await saved_search(any_db, 7)
    await relative(any_db, 8)
    await saved_search(any_db, 8, surname="Кусаинов", name="Жумабай", birth_year=1914)
    rows = [{"reading_id": f"F-{n}", "surname": "Федоров", "name": "Пётр"} for n in range(5)]
    kusainov = {
        "reading_id": "K-1",
        "surname": "Кусаинов / Кусайнов",
        "name": "Жумабай",
        "birth_year": "1914",
    }
    await import_rows(any_db, tmp_path / "new.csv", *rows[:3], LEGKODYMOV, *rows[3:], kusainov)

    real_record = matching._record_chunk
    calls = 0

    async def dies_on_the_third_chunk(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the process died")
        return await real_record(*args, **kwargs)

    monkeypatch.setattr(matching, "_record_chunk", dies_on_the_third_chunk)
    with pytest.raises(RuntimeError):
        await run_matching_pass(any_db, settings(batch_size=2))
    monkeypatch.setattr(matching, "_record_chunk", real_record)
    done_before = len(await outbox(any_db))
    resumed = await run_matching_pass(any_db, settings(batch_size=2))
    assert resumed.readings == 3  # 7 readings: the two chunks (4 readings) that committed are not read again
    messages = await outbox(any_db)
    assert done_before == 1 and sorted(m.chat_id for m in messages) == [7, 8]
    assert len(await matches(any_db)) == 2


async def test_paused_searches_are_not_matched_and_resume_from_the_next_import(
    any_db: Database, tmp_path: Path
) -> None:
    await relative(any_db, 7)
    request_id = await saved_search(any_db, 7)
    assert await set_search_paused(any_db, 7, request_id, True)
    assert not await set_search_paused(any_db, 8, request_id, False)  # not theirs
    await import_rows(any_db, tmp_path / "one.csv", LEGKODYMOV)
    report = await run_matching_pass(any_db, settings())
    assert (report.searches, report.readings, report.matches) == (0, 1, 0)
    assert await set_search_paused(any_db, 7, request_id, False)
    second = {**LEGKODYMOV, "reading_id": "KZ-2021-0007", "found_date": "2021-05-09"}
    await import_rows(any_db, tmp_path / "two.csv", second)
    report = await run_matching_pass(any_db, settings())
    assert (report.searches, report.matches, report.notifications) == (1, 1, 1)
    assert (await outbox(any_db))[0].payload["reading_id"] == "KZ-2021-0007"


async def test_pausing_drops_what_is_queued_for_that_search(any_db: Database, tmp_path: Path) -> None:
    await relative(any_db, 7)
    request_id = await saved_search(any_db, 7)
    await import_rows(any_db, tmp_path / "one.csv", LEGKODYMOV)
    await run_matching_pass(any_db, settings())
    await set_search_paused(any_db, 7, request_id, True)
    [message] = await outbox(any_db)
    assert message.state == "dropped"


async def test_readings_already_there_when_the_search_was_saved_are_recorded_not_announced(
    any_db: Database, tmp_path: Path
) -> None:
    await import_rows(any_db, tmp_path / "old.csv", LEGKODYMOV)
    await relative(any_db, 7)
    await saved_search(any_db, 7)  # the relative's own search showed this reading
    report = await run_matching_pass(any_db, settings())
    assert (report.matches, report.notifications) == (1, 0)
    assert (await matches(any_db))[0].notification == NotificationState.SKIPPED


async def test_an_import_still_running_is_left_for_the_next_pass(any_db: Database, tmp_path: Path) -> None:
    await relative(any_db, 7)
    await saved_search(any_db, 7)
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)
    host, pid, start = process_identity()
    async with any_db.session() as session:  # as if this process were still writing this batch
        await session.execute(
            update(ImportBatch).values(state=BatchState.RUNNING, host=host, pid=pid, process_start=start)
        )
    assert (await run_matching_pass(any_db, settings())).readings == 0
    later = utcnow() + timedelta(days=1)  # a running import is waited for, however long it takes
    assert (await run_matching_pass(any_db, settings(), now=later)).readings == 0
    async with any_db.session() as session:  # the importer died: its batch is lost, and stays hidden
        await session.execute(update(ImportBatch).values(state=BatchState.LOST))
    assert (await run_matching_pass(any_db, settings())).readings == 0
    (batch,) = [info.id for info in await batch_overview(any_db, lost_only=True)]
    assert await finish_lost_batch(any_db, batch) == 1  # an administrator finishes it
    assert (await run_matching_pass(any_db, settings())).readings == 1


async def test_only_one_pass_runs_at_a_time(
    any_db: Database, any_db_url: str, make_db: Callable[[str], Awaitable[Database]], tmp_path: Path
) -> None:
    await relative(any_db, 7)
    await saved_search(any_db, 7)
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)
    other_process = await make_db(any_db_url)
    async with job_lock(other_process, matching.LOCK_NAME) as held:
        assert held.acquired
        skipped = await run_matching_pass(any_db, settings())
        assert not skipped.ran and skipped.summary().endswith("skipped")
        assert await matches(any_db) == []
    report = await run_matching_pass(any_db, settings())
    assert report.ran and report.matches == 1


async def test_the_heartbeat_counts_checked_readings_and_is_queued_once_per_period(
    any_db: Database, tmp_path: Path
) -> None:
    await relative(any_db, 7, "en")
    request_id = await saved_search(any_db, 7)
    await import_rows(any_db, tmp_path / "new.csv", STRANGER, {**STRANGER, "reading_id": "RU-2"})
    await run_matching_pass(any_db, settings())
    assert await queue_heartbeats(any_db, settings(heartbeat_days=0)) == 0  # off by default
    assert await queue_heartbeats(any_db, settings(heartbeat_days=30)) == 0  # saved just now: not due
    month_later = utcnow() + timedelta(days=31)
    assert await queue_heartbeats(any_db, settings(heartbeat_days=30), now=month_later) == 1
    assert await queue_heartbeats(any_db, settings(heartbeat_days=30), now=month_later) == 0
    [message] = await outbox(any_db)
    assert message.kind == "heartbeat"
    assert message.payload["searches"] == [["Лехкодымов Емельян, 1904", 2]]
    async with any_db.session() as session:
        request = await session.get(SearchRequest, request_id)
        assert request is not None and request.checked_readings == 0 and request.last_heartbeat_at is not None

    class Recorder:
        def __init__(self) -> None:
            self.texts: list[str] = []

        async def send(self, message: Outgoing) -> None:
            self.texts.append(message.text)

    sender = Recorder()
    assert (await deliver_pending(any_db, sender, renderers=RENDERERS, now=month_later)).sent == 1
    assert sender.texts == [
        "🕯 <b>We keep looking.</b>\n\nЛехкодымов Емельян, 1904: 2 new readings checked\n\n"
        "The moment a fitting reading appears, we will tell you. Your searches: /my"
    ]


async def test_in_the_bots_process_the_pass_counts_on_its_registry_index_not_a_second_copy(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await relative(db, 7, "ru")
    await saved_search(db, 7)
    await import_rows(db, tmp_path / "new.csv", LEGKODYMOV, STRANGER)
    index = await open_registry_index(db)  # as `amanat run` does at start

    async def no_second_load(*args: Any, **kwargs: Any) -> RegistryIndex:
        raise AssertionError("the registry was loaded a second time")

    monkeypatch.setattr(RegistryIndex, "load", no_second_load)
    try:
        report = await run_matching_pass(db, settings(), registry=index)
        assert (report.matches, report.notifications) == (1, 1)
        assert len(index) == 2  # the index the bot searches is the one that was counted on
    finally:
        await index.close()  # the index the bot searches is the one that was counted on


@pytest.mark.parametrize("seam", ["load_active_searches", "_record_chunk"])
@pytest.mark.parametrize("vanishes", ["forget", "delete"])
async def test_a_search_that_vanishes_during_the_pass_is_skipped_and_the_pass_goes_on(
    any_db: Database,
    any_db_url: str,
    make_db: Callable[[str], Awaitable[Database]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seam: str,
    vanishes: str,
) -> None:
    await relative(any_db, 7)
    gone = await saved_search(any_db, 7)
    await relative(any_db, 8)
    kept = await saved_search(any_db, 8)
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV, STRANGER)
    other_handle = await make_db(any_db_url)  # the bot's dialogue, answering /forget meanwhile
    real = getattr(matching, seam)
    done = False

    async def the_relative_acts() -> None:
        nonlocal done
        if not done:  # committed by another connection after the pass read the searches
            done = True
            if vanishes == "forget":
                await forget_person(other_handle, 7)
            else:
                assert await delete_request(other_handle, 7, gone)

    async def then_the_relative_acts(*args: Any, **kwargs: Any) -> Any:
        if seam == "_record_chunk":  # scored, about to be written
            await the_relative_acts()
            return await real(*args, **kwargs)
        searches = await real(*args, **kwargs)  # just read
        await the_relative_acts()
        return searches

    monkeypatch.setattr(matching, seam, then_the_relative_acts)
    report = await run_matching_pass(any_db, settings())

    assert done and report.readings == 2
    [match] = await matches(any_db)
    assert match.request_id == kept
    assert [m.chat_id for m in await outbox(any_db)] == [8]
    assert (await run_matching_pass(any_db, settings())).readings == 0  # the watermark moved on
