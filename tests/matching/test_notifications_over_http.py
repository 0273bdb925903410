"""`amanat match` end to end: a real process, the real database, the Bot API stand-in over HTTP.

A relative saved a search; a matching reading is imported; `python -m bot match` runs one pass and
delivers through the Bot API. What the relative sees is read from the stand-in; what is stored, from the
database. Failures (403, 429, a crash between match and send) are injected into the stand-in or the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from matching_scenario import LEGKODYMOV, STRANGER, import_rows, matches, outbox, saved_search
from sqlalchemy import select

from bot.services import matching
from bot.services.locks import job_lock
from bot.services.people import give_consent
from botapi_standin import BotApiStandIn, SentMessage
from models import Database, OutboxState, Person
from tests.amanat_process import amanat_env, run


class MatchCommand:
    """Runs `python -m bot match` against a database and the stand-in, as cron or an admin would."""

    def __init__(self, api: BotApiStandIn, url: str, workdir: Path) -> None:
        self.api = api
        self.url = url
        self.workdir = workdir

    async def __call__(self, **env: str) -> tuple[int, str]:
        # The stand-in keeps answering on this event loop meanwhile; no config.toml in the workdir; the
        # command line speaks the locale's language: English here.
        code, out, err = await run(
            ["match"],
            amanat_env(self.url, self.api, **{"LC_ALL": "C.UTF-8", **env}),
            self.workdir,
            guard=None,
        )
        return code, out + err

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.api.history(chat_id) if m.method == "sendMessage"]


@pytest.fixture
def amanat_match(api: BotApiStandIn, any_db_url: str, tmp_path: Path) -> MatchCommand:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    return MatchCommand(api, any_db_url, workdir)


async def _relative_with_search(api: BotApiStandIn, db: Database, user_id: int, language: str) -> None:
    api.user(user_id, "Айгүл", language_code=language)
    await give_consent(db, user_id, language)
    await saved_search(db, user_id)


EXPECTED_FIRST_LINES = {
    "ru": "🔔 Новая запись в реестре по вашему поиску",
    "kk": "🔔 Іздеуіңіз бойынша тізілімде жаңа жазба пайда болды",
    "en": "🔔 A new registry reading for your search",
}


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
async def test_a_relative_is_told_once_in_their_language(
    api: BotApiStandIn, any_db: Database, amanat_match: MatchCommand, tmp_path: Path, language: str
) -> None:
    await _relative_with_search(api, any_db, 501, language)
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV, STRANGER)

    code, output = await amanat_match()

    assert code == 0, output
    assert "1 new match, 1 notification queued" in output and "1 sent" in output
    [message] = amanat_match.sent_to(501)
    lines = message.text.split("\n")
    assert lines[0] == EXPECTED_FIRST_LINES[language]
    assert lines[1] == "Лехкодымов Емельян, 1904"
    assert "Легкодымов (Лехкодымов) Емельян Тимофеевич" in message.text
    assert "Калужская обл., Мосальский р-н, 2019-08-14" in message.text
    assert "1904" in lines[4] and len(message.button_texts()) == 2
    assert (
        message.button_texts()[0]
        == {"ru": "📄 Показать запись", "kk": "📄 Жазбаны көрсету", "en": "📄 See the record"}[language]
    )
    assert message.parse_mode == "HTML"
    [stored] = await outbox(any_db)
    assert stored.state == OutboxState.SENT and stored.attempts == 1

    code, output = await amanat_match()  # again: nothing new, nothing sent again
    assert code == 0 and "0 new readings" in output
    assert len(amanat_match.sent_to(501)) == 1


async def test_a_user_who_blocked_the_bot_is_marked_inactive_and_not_tried_again(
    api: BotApiStandIn, any_db: Database, amanat_match: MatchCommand, tmp_path: Path
) -> None:
    await _relative_with_search(api, any_db, 502, "ru")
    user = api.user(502, "Айгүл")
    await api.block(user, notify=False)
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)

    code, output = await amanat_match()

    assert code == 0, output
    tries = [c for c in api.calls_of("sendMessage") if c.chat_id == 502]
    assert [c.status for c in tries] == [403]
    async with any_db.session() as session:
        person = await session.get(Person, 502)
        assert person is not None and person.active is False and person.blocked_at is not None
    assert [m.state for m in await outbox(any_db)] == [OutboxState.DROPPED]

    second = {**LEGKODYMOV, "reading_id": "KZ-2021-0007", "found_date": "2021-05-09"}
    await import_rows(any_db, tmp_path / "more.csv", second)
    code, output = await amanat_match()
    assert code == 0, output
    assert len([c for c in api.calls_of("sendMessage") if c.chat_id == 502]) == 1  # no new try


async def test_chat_not_found_is_final_not_retried_for_hours(
    api: BotApiStandIn, any_db: Database, amanat_match: MatchCommand, tmp_path: Path
) -> None:
    # The person is in the database, but Telegram has no chat with them: 400 "Bad Request: chat not found".
    await give_consent(any_db, 507, "ru")
    await saved_search(any_db, 507)
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)

    code, output = await amanat_match()

    assert code == 0, output
    assert [c.status for c in api.calls_of("sendMessage") if c.chat_id == 507] == [400]
    [stored] = await outbox(any_db)
    assert stored.state == OutboxState.FAILED and stored.attempts == 1
    assert stored.last_error is not None and "chat not found" in stored.last_error.lower()
    async with any_db.session() as session:
        person = await session.get(Person, 507)
        assert person is not None and person.active is False

    second = {**LEGKODYMOV, "reading_id": "KZ-2021-0007", "found_date": "2021-05-09"}
    await import_rows(any_db, tmp_path / "more.csv", second)
    code, output = await amanat_match()
    assert code == 0, output
    assert len([c for c in api.calls_of("sendMessage") if c.chat_id == 507]) == 1  # never tried again


async def test_429_is_waited_out_and_the_message_delivered_once(
    api: BotApiStandIn, any_db: Database, amanat_match: MatchCommand, tmp_path: Path
) -> None:
    await _relative_with_search(api, any_db, 503, "en")
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)
    api.fail_next(503, 429, retry_after=1, methods={"sendMessage"})

    code, output = await amanat_match()

    assert code == 0, output
    tries = [c.status for c in api.calls_of("sendMessage") if c.chat_id == 503]
    assert tries == [429, 200]
    assert len(amanat_match.sent_to(503)) == 1
    assert "waited 1 s" in output


async def test_other_errors_are_kept_for_a_retry_with_the_error_recorded(
    api: BotApiStandIn, any_db: Database, amanat_match: MatchCommand, tmp_path: Path
) -> None:
    await _relative_with_search(api, any_db, 504, "ru")
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)
    api.fail_next(504, 500, methods={"sendMessage"})

    code, output = await amanat_match()

    assert code == 0, output
    assert amanat_match.sent_to(504) == []
    [stored] = await outbox(any_db)
    assert stored.state == OutboxState.PENDING and stored.attempts == 1
    assert stored.last_error is not None and "Internal Server Error" in stored.last_error


async def test_a_crash_between_match_and_send_loses_nothing_and_doubles_nothing(
    api: BotApiStandIn, any_db: Database, amanat_match: MatchCommand, tmp_path: Path
) -> None:
    await _relative_with_search(api, any_db, 505, "kk")
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)

    code, output = await amanat_match(AMANAT_FAULT="after-matching")  # os._exit right after the commit

    assert code == 70, output
    assert amanat_match.sent_to(505) == []
    assert len(await matches(any_db)) == 1
    assert [m.state for m in await outbox(any_db)] == [OutboxState.PENDING]

    code, output = await amanat_match()  # the restarted job: no new match, the pending one goes out

    assert code == 0, output
    assert "0 new readings" in output and "1 sent" in output
    [message] = amanat_match.sent_to(505)
    assert message.text.startswith(EXPECTED_FIRST_LINES["kk"])
    code, output = await amanat_match()
    assert len(amanat_match.sent_to(505)) == 1 and len(await matches(any_db)) == 1


async def test_a_second_process_skips_its_pass_while_one_is_running(
    api: BotApiStandIn,
    any_db: Database,
    any_db_url: str,
    amanat_match: MatchCommand,
    make_db: Callable[[str], Awaitable[Database]],
    tmp_path: Path,
) -> None:
    await _relative_with_search(api, any_db, 506, "ru")
    await import_rows(any_db, tmp_path / "new.csv", LEGKODYMOV)
    running = await make_db(any_db_url)  # this test process plays the pass that is running

    async with job_lock(running, matching.LOCK_NAME) as held:
        assert held.acquired
        code, output = await amanat_match()
        assert code == 0 and "another pass is running; skipped" in output
        assert await matches(any_db) == []

    code, output = await amanat_match()
    assert code == 0 and "1 new match," in output
    assert len(amanat_match.sent_to(506)) == 1
    async with any_db.session() as session:
        assert (await session.scalars(select(Person.active))).all() == [True]
