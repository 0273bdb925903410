"""The web board's JSON API over real HTTP, against the started bot, its database and the Bot API stand-in.

Who may ask (401 for missing, forged, stale or another bot's initData, with nothing else in the answer;
403 for a relative asking for cases and for a volunteer asking for the statistics), and the board acting
on a case with the chat's own use cases: a claim on the board edits the group's card and tells the
relative, a claim in the chat shows on the board at once and the board's claim then loses, an answer
reaches the relative over the Bot API, bad input changes nothing, and closing tells the relative.
"""

from __future__ import annotations

from datetime import datetime

from bot.services import cases
from bot.services.board_stats import read_snapshot
from bot.services.people import give_consent
from models.base import utcnow
from tests.board.board_harness import ADMIN, PUBLIC_URL, BoardDesk, record_matches
from tests.cases.cases_harness import GROUP, OLGA, RELATIVE

ASK = "🙋 Спросить волонтёра"


async def open_case(board: BoardDesk) -> None:
    """The relative searches, asks a volunteer and writes their question: case №1, on the group's board."""
    await board.consented(board.relative)
    results = (await board.say(board.relative, "/search Легкодымов Емельян 1904"))[RELATIVE][-1]
    await board.press(board.relative, results, ASK)
    seen = await board.say(board.relative, "Это мой прадед, помогите связаться с отрядом")
    assert "Обращение №1" in seen[GROUP][-1].text


async def test_without_valid_init_data_the_api_answers_401_and_nothing_else(board: BoardDesk) -> None:
    stale = f"tma {board.init_data(board.olga, age=2 * 24 * 3600)}"
    other_bot = f"tma {board.init_data(board.olga, token='999:another-bots-token')}"
    forged = f"tma {board.init_data(board.olga).replace(str(OLGA), '7001')}"
    for authorization in (None, "", "Bearer x", "tma ", forged, stale, other_bot):
        for path in ("/api/me", "/api/cases", "/api/stats"):
            status, body = await board.call("GET", path, authorization=authorization)
            assert (status, body) == (401, ""), (authorization, path)
    status, body = await board.call("POST", "/api/cases/1/claim", authorization=forged)
    assert (status, body) == (401, "")


async def test_a_relative_gets_403_for_cases_and_a_volunteer_403_for_statistics(board: BoardDesk) -> None:
    await open_case(board)
    status, body = await board.call("GET", "/api/cases", board.relative)
    assert status == 403 and body == {"error": "forbidden"}
    assert (await board.call("POST", "/api/cases/1/claim", board.relative))[0] == 403
    assert (await board.call("GET", "/api/stats", board.olga))[0] == 403
    status, me = await board.call("GET", "/api/me", board.relative)
    assert status == 200 and me["volunteer"] is False and me["admin"] is False and me["language"] == "ru"


async def test_a_claim_on_the_board_shows_in_the_chat(board: BoardDesk) -> None:
    await open_case(board)
    for chat in board.chats():
        board.api.new_messages(chat)
    status, listed = await board.call("GET", "/api/cases?filter=unclaimed", board.olga)
    assert status == 200 and listed["counts"]["unclaimed"] == 1 and listed["counts"]["mine"] == 0
    [case] = listed["cases"]
    assert case["id"] == 1 and case["status"] == "new" and case["relative"] == "Алия"
    assert case["soldier"]["surname"] == "Легкодымов" and case["waited_seconds"] >= 0
    assert "person_id" not in case and str(RELATIVE) not in str(case)

    status, claimed = await board.call("POST", "/api/cases/1/claim", board.olga)
    assert status == 200 and claimed["status"] == "claimed" and claimed["mine"] is True
    assert claimed["volunteer"] == "Olga"
    card = board.api.new_messages(GROUP)[-1]
    assert card.text.startswith("✅ Обращение №1 взял(а) Olga") and card.buttons == ()
    [told] = board.api.new_messages(RELATIVE)
    assert "Волонтёр взял ваше обращение №1" in told.text and "Olga" not in told.text
    desk_copy = board.api.new_messages(OLGA)[-1]  # the working copy, privately, in her language
    assert desk_copy.text.startswith("📂 Case #1") and "Это мой прадед" in desk_copy.text
    status, mine = await board.call("GET", "/api/cases?filter=mine", board.olga)
    assert [c["id"] for c in mine["cases"]] == [1] and mine["counts"]["waiting"] == 1


async def test_a_claim_in_the_chat_shows_on_the_board_and_the_boards_claim_loses(board: BoardDesk) -> None:
    await open_case(board)
    card = board.api.messages(GROUP)[-1]
    await board.press(board.erzhan, card, "✋ Взять")
    status, case = await board.call("GET", "/api/cases/1", board.olga)
    assert status == 200 and case["status"] == "claimed" and case["volunteer"] == "Ержан"
    assert case["mine"] is False and case["messages"][0]["text"].startswith("Это мой прадед")
    assert [e["to"] for e in case["events"]] == ["new", "claimed"]
    status, refused = await board.call("POST", "/api/cases/1/claim", board.olga)
    assert (status, refused) == (409, {"error": "taken"})
    assert (await board.call("POST", "/api/cases/1/answer", board.olga, json={"text": "hi"})) == (
        409,
        {"error": "not_yours"},
    )


async def test_an_answer_from_the_board_reaches_the_relative_and_bad_input_changes_nothing(
    board: BoardDesk,
) -> None:
    await open_case(board)
    await board.call("POST", "/api/cases/1/claim", board.olga)
    board.api.new_messages(RELATIVE)
    for body, error in (
        ({"text": "   "}, "empty"),
        ({"text": "x" * 3501}, "too_long"),
        ({"text": 5}, "bad_request"),
    ):
        status, refused = await board.call("POST", "/api/cases/1/answer", board.olga, json=body)
        assert status == 400 and refused["error"] == error
    assert board.api.new_messages(RELATIVE) == []
    assert len((await board.call("GET", "/api/cases/1", board.olga))[1]["messages"]) == 1

    status, answered = await board.call(
        "POST", "/api/cases/1/answer", board.olga, json={"text": "Отряд «Долг» нашёл его в 2019."}
    )
    assert status == 200 and answered["status"] == "answered" and answered["delivered"] is True
    assert answered["messages"][-1] == {
        "author": "volunteer",
        "name": None,
        "kind": "text",
        "text": "Отряд «Долг» нашёл его в 2019.",
        "at": answered["messages"][-1]["at"],
    }
    [answer] = board.api.new_messages(RELATIVE)
    assert "Отряд «Долг» нашёл его" in answer.text and "Olga" not in answer.text
    assert answer.button_texts() == ["✍️ Ответить"]

    # The relative's reply in the chat makes the case wait for the volunteer again, on the board too.
    await board.say(board.relative, "Спасибо!", reply_to=answer)
    status, case = await board.call("GET", "/api/cases/1", board.olga)
    assert case["status"] == "claimed" and case["messages"][-1]["text"] == "Спасибо!"

    status, closed = await board.call("POST", "/api/cases/1/close", board.olga, json={"note": "нашлись"})
    assert status == 200 and closed["status"] == "closed"
    assert "закрыто" in board.api.new_messages(RELATIVE)[-1].text
    assert board.api.messages(GROUP)[-1].text.startswith("☑️ Обращение №1 закрыто")


async def test_the_administrators_statistics(board: BoardDesk) -> None:
    await open_case(board)
    await board.call("POST", "/api/cases/1/claim", board.olga)
    await board.call("POST", "/api/cases/1/answer", board.olga, json={"text": "Здравствуйте"})
    # Before the first snapshot (the bot makes it in the background, at start) the page is asked to wait.
    status, stats = await board.call("GET", "/api/stats", board.admin)
    assert status == 200 and stats["as_of"] is None and "cases" not in stats
    await board.refresh_stats()
    status, stats = await board.call("GET", "/api/stats", board.admin)
    assert status == 200 and stats["as_of"] and len(stats["weeks"]) == 12
    assert stats["weekly"]["searches"][-1] == 1 and stats["weekly"]["new_users"][-1] == 1
    assert stats["cases"] == {"answered": 1}
    assert stats["median_claim_seconds"] >= 0 and stats["median_answer_seconds"] >= 0
    assert stats["regions"] and all(r["readings"] > 0 and r["label"] for r in stats["regions"])


async def test_the_statistics_are_the_background_snapshot_with_its_time(board: BoardDesk) -> None:
    """/api/stats serves the kept snapshot (never computes it); a change shows after the next refresh."""
    assert board.db is not None
    await board.refresh_stats()
    status, before = await board.call("GET", "/api/stats", board.admin)
    snapshot = await read_snapshot(board.db)
    assert status == 200 and snapshot is not None
    assert before["as_of"] == snapshot.at.isoformat(timespec="seconds") and before["cases"] == {}
    assert datetime.fromisoformat(before["as_of"]) <= utcnow()
    await open_case(board)
    status, same = await board.call("GET", "/api/stats", board.admin)
    assert same == before  # the request did not compute anything: the case waits for the next refresh

    board.run_stats_job(every=0.2)  # the bot's own job, as `amanat run` schedules it (every minute)
    after = await board.stats_when(lambda stats: stats["cases"] == {"new": 1})
    assert datetime.fromisoformat(after["as_of"]) >= datetime.fromisoformat(before["as_of"])
    assert after["weekly"]["searches"][-1] == 1
    kept = await read_snapshot(board.db)
    assert kept is not None and kept.at > snapshot.at and kept.stats.cases == {"new": 1}


async def test_the_page_and_its_strings_are_served(board: BoardDesk) -> None:
    status, page = await board.call("GET", "/board/")
    assert status == 200 and "board.js" in page
    for lang in ("ru", "kk", "en"):
        status, strings = await board.call("GET", f"/board/strings/{lang}.json")
        assert status == 200 and strings["lang"] == lang and strings["strings"]["board.title"]
    assert (await board.call("GET", "/board/strings/de.json"))[0] == 404


async def test_the_bot_opens_the_board_from_cases_and_stats_with_a_web_app_button(board: BoardDesk) -> None:
    await open_case(board)
    listing = (await board.say(board.olga, "/cases"))[OLGA][-1]
    opener = listing.button("📋 Open the board")
    assert opener.raw["web_app"] == {"url": PUBLIC_URL} and opener.callback_data is None
    stats = (await board.say(board.admin, "/stats"))[ADMIN][-1]
    assert stats.button("📋 Тақтаны ашу").raw["web_app"] == {"url": PUBLIC_URL + "?tab=stats"}
    # Not in the volunteers' group (Telegram allows web_app buttons in private chats only).
    assert all("web_app" not in b.raw for m in board.api.messages(GROUP) for b in m.all_buttons())


async def test_the_review_queue_one_pair_at_a_time(board: BoardDesk) -> None:
    low, high = await record_matches(board)
    assert (await board.call("GET", "/api/review", board.relative))[0] == 403
    status, first = await board.call("GET", "/api/review", board.olga)
    assert status == 200 and first["waiting"] == 2 and first["item"]["match_id"] == high
    assert first["item"]["search"]["surname"] == "Лехкодымов"
    assert first["item"]["reading"]["reading_id"] == "KZ-2019-0142"
    skipped = (await board.call("GET", f"/api/review?after={high}", board.olga))[1]
    assert skipped["item"]["match_id"] == low and skipped["waiting"] == 2
    assert (await board.call("POST", f"/api/review/{high}", board.olga, json={"verdict": "maybe"}))[0] == 400

    board.api.new_messages(RELATIVE)
    status, decided = await board.call("POST", f"/api/review/{high}", board.olga, json={"verdict": "likely"})
    assert status == 200 and decided == {"decided": high, "verdict": "likely"}
    [told] = board.api.new_messages(RELATIVE)  # once, as /review tells it
    assert "Легкодымов" in told.text
    again = await board.call("POST", f"/api/review/{high}", board.erzhan, json={"verdict": "not"})
    assert again == (409, {"error": "already"}) and board.api.new_messages(RELATIVE) == []
    status, left = await board.call("GET", "/api/review", board.olga)
    assert left["waiting"] == 1 and left["item"]["match_id"] == low


async def test_the_case_list_comes_in_pages_of_fifty(board: BoardDesk) -> None:
    assert board.db is not None
    await give_consent(board.db, RELATIVE, "ru", first_name="Алия")
    for number in range(55):
        await cases.open_case(board.db, RELATIVE, text=f"вопрос {number}", search={"surname": "Легкодымов"})
    status, first = await board.call("GET", "/api/cases?filter=unclaimed", board.olga)
    assert status == 200 and len(first["cases"]) == 50 and first["counts"]["unclaimed"] == 55
    status, rest = await board.call("GET", "/api/cases?filter=unclaimed&offset=50", board.olga)
    assert [c["id"] for c in rest["cases"]] == [51, 52, 53, 54, 55]  # longest waiting first
    for bad in ("filter=everything", "offset=x"):
        assert (await board.call("GET", f"/api/cases?{bad}", board.olga)) == (400, {"error": "bad_request"})
