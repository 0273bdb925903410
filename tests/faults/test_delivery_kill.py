"""kill -9 of a real bot (`amanat run`) while it delivers 40 notifications, at several points.

After a restart every relative has their notification exactly once, except at most the one message that
was in flight at the instant of the kill, and nothing waits out a lease: claims are taken one message at a
time, and the dead process's claim is taken over at once (it used to hold 40 claimed, never-tried
messages for 5 minutes).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from faults_harness import (
    deliveries,
    import_rows,
    outbox_states,
    reading_of,
    relatives_waiting,
    until,
)

from bot.config import load_config
from bot.services.faults import FAULT_EXIT_CODE
from bot.services.matching import run_matching_pass
from botapi_standin import BotApiStandIn, Observed, SentMessage
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
    everyone = await relatives_waiting(api, any_db, 4001, RELATIVES, "legkodymov")
    await import_rows(any_db, tmp_path / "new.csv", [reading_of("legkodymov", "L-1")])
    report = await run_matching_pass(any_db, load_config())
    assert report.notifications == RELATIVES
    workdir = tmp_path / "cwd"
    workdir.mkdir()

    fault = {} if how.startswith("kill") else {"AMANAT_FAULT": f"{how}:{at}"}
    first = start_bot(amanat_env(any_db_url, api, **fault), workdir)
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
    before_restart = sum(deliveries(api, everyone).values())
    assert before_restart == (at if in_flight else at - 1)

    second = start_bot(amanat_env(any_db_url, api), workdir)
    try:

        async def all_sent() -> bool:
            return await outbox_states(any_db) == {"sent": RELATIVES}

        await until(all_sent, "every notification was recorded as sent", second)
    finally:
        stop(second)

    counts = deliveries(api, everyone)
    doubled = [chat_id for chat_id, n in counts.items() if n > 1]
    assert all(n >= 1 for n in counts.values())  # nothing lost
    assert max(counts.values()) <= 2 and len(doubled) <= (1 if in_flight else 0)
    assert sum(counts.values()) == RELATIVES + len(doubled)
