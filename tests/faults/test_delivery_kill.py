"""kill -9 of a real bot (`amanat run`) while it delivers 40 notifications, at several points.

After a restart every relative has their notification exactly once, except at most the one message that
was in flight at the instant of the kill, and nothing waits out a lease: claims are taken one message at a
time, and the dead process's claim is taken over at once (it used to hold 40 claimed, never-tried
messages for 5 minutes).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faults_harness import (
    assert_each_once_but_in_flight,
    crash_at_nth_send,
    deliveries,
    import_rows,
    outbox_states,
    reading_of,
    relatives_waiting,
    until,
)

from bot.config import load_config
from bot.services.matching import run_matching_pass
from botapi_standin import BotApiStandIn
from models import Database
from tests.amanat_process import amanat_env, start_bot, stop

RELATIVES = 40


@pytest.mark.parametrize(
    ("how", "at", "in_flight"),
    [
        ("kill -9 from outside", 3, True),  # the 3rd message has reached Telegram, no answer yet
        ("before-send", 5, False),  # the 5th is claimed, not yet handed to the Bot API
        ("after-send", 7, True),  # Telegram accepted the 7th, the outbox has not recorded it
    ],
)
async def test_a_killed_delivery_resumes_at_once_and_sends_each_message_once(
    api: BotApiStandIn,
    any_db: Database,
    any_db_url: str,
    tmp_path: Path,
    how: str,
    at: int,
    in_flight: bool,
) -> None:
    if how != "after-send" and "postgresql" in any_db_url:
        pytest.skip("the other points run on SQLite only (time)")
    everyone = await relatives_waiting(api, any_db, 4001, RELATIVES, "legkodymov")
    await import_rows(any_db, tmp_path / "new.csv", [reading_of("legkodymov", "L-1")])
    report = await run_matching_pass(any_db, load_config())
    assert report.notifications == RELATIVES
    workdir = tmp_path / "cwd"
    workdir.mkdir()

    await crash_at_nth_send(api, amanat_env(any_db_url, api), workdir, how, at)
    before_restart = sum(deliveries(api, everyone).values())
    assert before_restart == (at if in_flight else at - 1)

    second = start_bot(amanat_env(any_db_url, api), workdir)
    try:

        async def all_sent() -> bool:
            return await outbox_states(any_db) == {"sent": RELATIVES}

        await until(all_sent, "every notification was recorded as sent", second)
    finally:
        stop(second)

    assert_each_once_but_in_flight(deliveries(api, everyone), RELATIVES, in_flight)
