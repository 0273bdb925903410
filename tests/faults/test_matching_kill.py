"""kill -9 of a real matching pass (`amanat match`) at several points; the next pass runs at once.

Every relative whose soldier was imported is told exactly once; no match is lost; the restarted pass is
not turned away by the dead pass's lock (it used to wait 15 minutes for the SQLite lock row to expire).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faults_harness import (
    amanat,
    deliveries,
    filler,
    import_rows,
    match_count,
    outbox_states,
    reading_of,
    relatives_waiting,
)

from bot.services.faults import FAULT_EXIT_CODE
from botapi_standin import BotApiStandIn
from models import Database


@pytest.mark.parametrize(
    "point",
    [
        "matching-locked",  # holds the lock, has done nothing
        "matching-scored:2",  # the second chunk scored, not written
        "matching-chunk:1",  # the first chunk committed, the rest not read
        "after-matching",  # all committed, nothing sent
    ],
)
async def test_a_killed_pass_is_followed_at_once_and_everyone_is_told_once(
    api: BotApiStandIn, any_db: Database, any_db_url: str, tmp_path: Path, point: str
) -> None:
    if point != "matching-chunk:1" and "postgresql" in any_db_url:
        pytest.skip("the other points run on SQLite only (time)")
    told_of_legkodymov = await relatives_waiting(api, any_db, 3001, 3, "legkodymov")
    told_of_kusainov = await relatives_waiting(api, any_db, 3101, 2, "kusainov")
    everyone = told_of_legkodymov + told_of_kusainov
    # With chunks of two: [F-1, Легкодымов], [F-2, Кусаинов], [F-3, F-4]
    rows = [filler(1), reading_of("legkodymov", "L-1"), filler(2), reading_of("kusainov", "K-1")]
    await import_rows(any_db, tmp_path / "new.csv", [*rows, filler(3), filler(4)])
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    small_chunks = {"AMANAT_MATCHING__BATCH_SIZE": "2"}

    code, output = await amanat(api, any_db_url, workdir, "match", AMANAT_FAULT=point, **small_chunks)
    assert code == FAULT_EXIT_CODE, output
    assert sum(deliveries(api, everyone).values()) == 0

    code, output = await amanat(api, any_db_url, workdir, "match", **small_chunks)  # restarted at once

    assert code == 0, output
    assert "skipped" not in output  # the dead pass's lock did not keep this one out
    assert deliveries(api, everyone) == {chat_id: 1 for chat_id in everyone}
    assert await match_count(any_db) == len(everyone)
    assert await outbox_states(any_db) == {"sent": len(everyone)}

    code, output = await amanat(api, any_db_url, workdir, "match", **small_chunks)  # and again: nothing new
    assert code == 0 and "0 new readings" in output, output
    assert deliveries(api, everyone) == {chat_id: 1 for chat_id in everyone}
