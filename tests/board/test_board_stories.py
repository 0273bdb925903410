"""The memory book's moderation on the web board, over real HTTP against the started bot, its database and
the Bot API stand-in: one pending story at a time with its text and its files (served only through the
authenticated API), Approve / Decline with a reason / Ask the family through the same functions as the
chat's /moderate (the family is told over the Bot API in their language), the first decision wins (409 to
the second, from the board or the chat), only volunteers may look or act, bad input changes nothing.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.services import stories
from models import Case, CaseStatus, Story, StoryState
from tests.board.board_harness import BoardDesk, tell_story
from tests.cases.cases_harness import ERZHAN, OLGA, RELATIVE
from tests.stories.stories_harness import PDF


async def story_state(board: BoardDesk, story_id: int = 1) -> StoryState:
    assert board.db is not None
    story = await stories.get_story(board.db, story_id)
    assert story is not None
    return story.state


async def test_a_volunteer_sees_the_pending_story_and_its_files_only_through_the_api(
    board: BoardDesk,
) -> None:
    await tell_story(board)
    status, queue = await board.call("GET", "/api/stories", board.olga)
    assert status == 200 and queue["waiting"] == 1
    story = queue["item"]
    assert story["id"] == 1 and story["text"].startswith("Мой прадед") and story["consent"] == "anonymous"
    assert story["soldier"]["surname"] == "Легкодымов" and story["reading"] is None
    assert [(f["kind"], f["caption"]) for f in story["files"]] == [
        ("photo", "Прадед в 1940 году"),
        ("pdf", ""),
    ]
    assert "path" not in str(story) and str(RELATIVE) not in str(story)  # no storage path, no Telegram id
    photo, pdf = story["files"]
    status, kind, data = await board.fetch(f"/api/stories/1/files/{photo['id']}", board.olga)
    assert (status, kind) == (200, "image/jpeg") and data.startswith(b"\xff\xd8") and b"SecretCam" not in data
    assert await board.fetch(f"/api/stories/1/files/{pdf['id']}", board.olga) == (200, "application/pdf", PDF)
    assert (await board.fetch(f"/api/stories/1/files/{pdf['id']}", None))[0] == 401
    assert (await board.fetch(f"/api/stories/1/files/{pdf['id']}", board.relative))[0] == 403
    assert (await board.fetch("/api/stories/1/files/999", board.olga))[0] == 404
    # Skip: nothing else waits.
    status, after = await board.call("GET", "/api/stories?after=1", board.olga)
    assert status == 200 and after == {"waiting": 1, "item": None}


async def test_only_volunteers_moderate_and_forged_init_data_gets_401(board: BoardDesk) -> None:
    await tell_story(board)
    forged = f"tma {board.init_data(board.olga).replace(str(OLGA), str(ERZHAN))}"
    for method, path in (("GET", "/api/stories"), ("POST", "/api/stories/1/approve")):
        assert await board.call(method, path, authorization=forged) == (401, "")
        assert await board.call(method, path, board.relative) == (403, {"error": "forbidden"})
        assert await board.call(method, path, board.stranger) == (403, {"error": "forbidden"})
    assert await board.call("POST", "/api/stories/1/decline", board.relative, json={"reason": "x"}) == (
        403,
        {"error": "forbidden"},
    )
    assert await story_state(board) == StoryState.PENDING
    assert board.api.new_messages(RELATIVE) == []  # the family was told nothing


async def test_approval_on_the_board_tells_the_family_and_the_second_decision_gets_409(
    board: BoardDesk,
) -> None:
    await tell_story(board)
    board.api.new_messages(RELATIVE)
    status, body = await board.call("POST", "/api/stories/1/approve", board.olga)
    assert (status, body) == (200, {"decided": 1, "state": "approved"})
    [told] = board.api.new_messages(RELATIVE)  # sent before the board's answer came
    assert "Ваша история №1 прочитана и одобрена" in told.text
    assert await board.call("POST", "/api/stories/1/approve", board.erzhan) == (409, {"error": "decided"})
    assert await board.call("POST", "/api/stories/1/decline", board.erzhan, json={"reason": "нет"}) == (
        409,
        {"error": "decided"},
    )
    assert await board.call("POST", "/api/stories/1/ask", board.erzhan, json={"question": "?"}) == (
        409,
        {"error": "decided"},
    )
    assert await board.call("POST", "/api/stories/9/approve", board.erzhan) == (404, {"error": "not_found"})
    assert board.api.new_messages(RELATIVE) == []  # told once
    moderate = (await board.say(board.erzhan, "/moderate"))[ERZHAN][-1]
    assert "Нет историй, ожидающих проверки" in moderate.text
    assert (await board.call("GET", "/api/stories", board.olga))[1] == {"waiting": 0, "item": None}
    assert board.db is not None
    async with board.db.session() as session:
        [row] = (await session.execute(select(Story))).scalars().all()
    assert row.moderator_id == OLGA and row.state == StoryState.APPROVED


async def test_two_volunteers_deciding_at_once_one_wins(board: BoardDesk) -> None:
    await tell_story(board)
    results = await asyncio.gather(
        board.call("POST", "/api/stories/1/approve", board.olga),
        board.call("POST", "/api/stories/1/decline", board.erzhan, json={"reason": "Нет фотографий"}),
    )
    assert sorted(status for status, _ in results) == [200, 409]
    winner = next(body for status, body in results if status == 200)
    assert await story_state(board) == StoryState(winner["state"])


async def test_a_decision_in_the_chat_makes_the_boards_409(board: BoardDesk) -> None:
    await tell_story(board)
    card = (await board.say(board.erzhan, "/moderate"))[ERZHAN][-1]
    await board.press(board.erzhan, card, "✅ Одобрить")
    assert await board.call("POST", "/api/stories/1/approve", board.olga) == (409, {"error": "decided"})


async def test_decline_needs_a_reason_and_the_family_sees_it(board: BoardDesk) -> None:
    await tell_story(board)
    board.api.new_messages(RELATIVE)
    for reason, error in ((" ", {"error": "empty"}), ("я" * 1001, {"error": "too_long", "limit": 1000}),
                          (None, {"error": "bad_request"})):  # fmt: skip
        assert await board.call("POST", "/api/stories/1/decline", board.olga, json={"reason": reason}) == (
            400,
            error,
        )
    assert await board.call("POST", "/api/stories/1/whatever", board.olga) == (400, {"error": "bad_request"})
    assert await story_state(board) == StoryState.PENDING and board.api.new_messages(RELATIVE) == []
    status, body = await board.call(
        "POST", "/api/stories/1/decline", board.olga, json={"reason": "Пришлите, пожалуйста, фото получше"}
    )
    assert (status, body) == (200, {"decided": 1, "state": "declined"})
    [told] = board.api.new_messages(RELATIVE)
    assert (
        "не смогли принять вашу историю №1" in told.text and "Пришлите, пожалуйста, фото получше" in told.text
    )


async def test_asking_the_family_opens_a_case_claimed_by_the_volunteer(board: BoardDesk) -> None:
    await tell_story(board)
    board.api.new_messages(RELATIVE)
    assert await board.call("POST", "/api/stories/1/ask", board.olga, json={"question": ""}) == (
        400,
        {"error": "empty"},
    )
    status, body = await board.call(
        "POST", "/api/stories/1/ask", board.olga, json={"question": "В какой части он служил?"}
    )
    assert status == 200 and body["story"] == 1 and body["delivered"] is True
    [question] = board.api.new_messages(RELATIVE)
    assert "Волонтёр" in question.text and "В какой части он служил?" in question.text
    assert "Olga" not in question.text
    assert board.db is not None
    async with board.db.session() as session:
        [case] = (await session.execute(select(Case))).scalars().all()
    assert case.id == body["case"] and case.source == "story" and case.volunteer_id == OLGA
    assert case.status == CaseStatus.ANSWERED
    assert await story_state(board) == StoryState.PENDING  # a question decides nothing
    # The volunteer's language (en) opens the case, as in the chat.
    status, detail = await board.call("GET", f"/api/cases/{case.id}", board.olga)
    assert detail["messages"][0]["text"].startswith("A question about story #1")
