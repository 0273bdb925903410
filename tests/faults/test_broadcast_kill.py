"""kill -9 of a real bot (`amanat run`) half way through an appeal's broadcast, then a restart.

The restarted bot's broadcast job takes the appeal over at once (the dead holder's lock and its claim on
the delivery in flight), and the broadcast completes: nobody is missed, and nobody gets it twice except
at most the one delivery that was in flight at the instant of the kill.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faults_harness import assert_each_once_but_in_flight, crash_at_nth_send, until

from bot.services.broadcast import send_appeal
from botapi_standin import BotApiStandIn
from models import Database
from tests.amanat_process import amanat_env, start_bot, stop
from tests.appeals.appeal_scenario import appeal_to_all, delivery_states, received, users

AUDIENCE = 120
PACE = {"AMANAT_BROADCAST__RATE_PER_SECOND": "30"}


@pytest.mark.parametrize(
    ("how", "at", "in_flight"),
    [
        ("kill -9 from outside", 60, True),  # the 60th appeal has reached Telegram, no answer yet
        ("appeal-claimed", 50, False),  # the 50th delivery is claimed, not yet handed to the Bot API
        ("appeal-sent", 70, True),  # Telegram accepted the 70th, the broadcaster has not recorded it
    ],
)
async def test_a_killed_broadcast_resumes_and_serves_everyone_once(
    api: BotApiStandIn,
    any_db: Database,
    any_db_url: str,
    tmp_path: Path,
    how: str,
    at: int,
    in_flight: bool,
) -> None:
    everyone = await users(api, any_db, 70_000, AUDIENCE)
    appeal_id = await appeal_to_all(any_db)
    assert await send_appeal(any_db, appeal_id) == AUDIENCE
    workdir = tmp_path / "cwd"
    workdir.mkdir()

    await crash_at_nth_send(api, amanat_env(any_db_url, api, **PACE), workdir, how, at)
    before_restart = sum(received(api, everyone).values())
    assert before_restart == (at if in_flight else at - 1)

    second = start_bot(amanat_env(any_db_url, api, **PACE), workdir)
    try:

        async def all_sent() -> bool:
            return await delivery_states(any_db, appeal_id) == {"sent": AUDIENCE}

        await until(all_sent, "every delivery was recorded as sent", second)
    finally:
        stop(second)

    assert_each_once_but_in_flight(received(api, everyone), AUDIENCE, in_flight)
