"""kill -9 of a real bot (`amanat run`) half way through an appeal's broadcast, then a restart.

The restarted bot's broadcast job takes the appeal over at once (the dead holder's lock and its claim on
the delivery in flight), and the broadcast completes: nobody is missed, and nobody gets it twice except
at most the one delivery that was in flight at the instant of the kill.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from faults_harness import until

from bot.services.broadcast import send_appeal
from bot.services.faults import FAULT_EXIT_CODE
from botapi_standin import BotApiStandIn, Observed, SentMessage
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

    fault = {} if how.startswith("kill") else {"AMANAT_FAULT": f"{how}:{at}"}
    first = start_bot(amanat_env(any_db_url, api, **PACE, **fault), workdir)
    seen = 0

    def kill_at_the_nth_send(item: Observed) -> None:
        nonlocal seen
        if isinstance(item, SentMessage) and item.method == "sendMessage" and not item.edited:
            seen += 1
            if seen == at:  # the bot is waiting for this answer: the message is in flight
                first.send_signal(signal.SIGKILL)

    if not fault:
        api.add_listener(kill_at_the_nth_send)
    try:
        code = await asyncio.to_thread(first.wait, 120)
    finally:
        stop(first)
        if not fault:
            api.remove_listener(kill_at_the_nth_send)
    assert code == (-signal.SIGKILL if not fault else FAULT_EXIT_CODE)
    before_restart = sum(received(api, everyone).values())
    assert before_restart == (at if in_flight else at - 1)

    second = start_bot(amanat_env(any_db_url, api, **PACE), workdir)
    try:

        async def all_sent() -> bool:
            return await delivery_states(any_db, appeal_id) == {"sent": AUDIENCE}

        await until(all_sent, "every delivery was recorded as sent", second)
    finally:
        stop(second)

    counts = received(api, everyone)
    doubled = [chat_id for chat_id, n in counts.items() if n > 1]
    assert all(n >= 1 for n in counts.values())  # nobody missed
    assert max(counts.values()) <= 2 and len(doubled) <= (1 if in_flight else 0)
    assert sum(counts.values()) == AUDIENCE + len(doubled)
