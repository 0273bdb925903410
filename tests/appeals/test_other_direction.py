"""The other direction: a relative who saves a search that fits an open appeal's soldier is told at once,
in their language, and a volunteer case linked to the appeal opens; saving again changes nothing.

The running bot (bot.app) polls the Bot API stand-in; the relative searches and presses Save as in any
chat; the appeal was sent before they came. A cancelled appeal and a draft for the same man are not open:
nobody is told of them.
"""

from __future__ import annotations

from pathlib import Path

from appeal_scenario import (
    ADMIN,
    FOUND,
    LEGKODYMOV,
    VOLUNTEERS,
    appeal_for_the_found_man,
    import_registry,
    until,
)
from sqlalchemy import select

from bot.services.appeal_relatives import appeals_told, case_search, open_appeals_fitting, start_appeal
from bot.services.broadcast import (
    AppealStatus,
    Audience,
    change_appeal,
    create_appeal,
    get_appeal,
    soldier_of_reading,
)
from bot.services.cases import open_case
from bot.services.outbox import enqueue
from bot.services.people import give_consent
from bot.services.saved_searches import SearchFields, save_request
from botapi_standin import BotApiStandIn, SentMessage
from models import Case, Database, SearchRequest
from tests.running_bot import RunningBot

RELATIVE = 7301


async def cases_of(db: Database, person_id: int) -> list[Case]:
    async with db.session() as session:
        return list(await session.scalars(select(Case).where(Case.person_id == person_id)))


async def save_a_search(api: BotApiStandIn, text: str) -> SentMessage:
    """The relative searches in one message and presses Save; the bot's first answer to the press."""
    relative = api.user(RELATIVE)
    await api.send_text(relative, text)
    [results] = await api.wait_for_messages(RELATIVE)
    await api.press(relative, results, "🔔 Іздеуді сақтау")
    [saved] = await api.wait_for_messages(RELATIVE)
    return saved


async def sent_appeal(db: Database, tmp_path: Path, *, photo_file_id: str | None = None) -> tuple[int, int]:
    """An appeal for the found man, sent (nobody in the audience yet: the broadcast is over at once);
    (its id, the reading's primary key)."""
    appeal_id, reading_pk = await appeal_for_the_found_man(
        db, tmp_path, "Найден в 2019 году в Калужской области.", photo_file_id=photo_file_id
    )
    await start_appeal(db, appeal_id)

    async def sent() -> bool:
        appeal = await get_appeal(db, appeal_id)
        return appeal is not None and appeal.status == AppealStatus.DONE

    await until(sent, "the appeal was sent")
    return appeal_id, reading_pk


async def test_saving_a_search_that_fits_an_open_appeal_tells_at_once_and_opens_one_case(
    running: RunningBot, tmp_path: Path
) -> None:
    api, db = running.api, running.db
    appeal_id, reading_pk = await sent_appeal(db, tmp_path)
    cancelled = await create_appeal(
        db, created_by=ADMIN, soldier=LEGKODYMOV, text="Отменено.", audience=Audience()
    )
    await change_appeal(db, cancelled, "cancel")
    await create_appeal(db, created_by=ADMIN, soldier=LEGKODYMOV, text="Черновик.", audience=Audience())
    api.user(RELATIVE, "Айгүл", language_code="kk")
    await give_consent(db, RELATIVE, "kk")
    board_before = len(api.messages(VOLUNTEERS))

    saved = await save_a_search(api, "/search Лехкодымов Емельян 1904")

    assert saved.text.startswith("Сақталды.")
    notice, opened = await api.wait_for_messages(RELATIVE, 2)
    assert notice.text.startswith(
        "🔔 Іздеу отряды осы жауынгердің туыстарын іздеп жүр — сіз жаңа ғана сақтаған іздеу оған сәйкес келеді"
    )
    assert "Сіздің іздеуіңіз: Лехкодымов Емельян, 1904" in notice.text
    assert "Легкодымов (Лехкодымов) Емельян Тимофеевич" in notice.text
    assert "Найден в 2019 году в Калужской области." in notice.text
    reasons = notice.text.split("Неге бұлай ойлаймыз:\n", 1)[1].split("\n")
    assert reasons and all(line.startswith("• ") for line in reasons)
    assert "Лехкодымов" in reasons[0]  # the strongest reason first: the surname
    assert notice.buttons == ()  # the case opens by itself: no "this may be my relative" to press
    assert "№1 өтініш" in opened.text
    [case] = await cases_of(db, RELATIVE)
    async with db.session() as session:
        [search_id] = await session.scalars(
            select(SearchRequest.id).where(SearchRequest.person_id == RELATIVE)
        )
    assert (case.source, case.search.get("appeal_id"), case.request_id) == ("appeal", appeal_id, search_id)
    assert case.reading_pk == reading_pk
    [card] = api.messages(VOLUNTEERS)[board_before:]
    assert "Легкодымов (Лехкодымов)" in card.text
    # What opened the case, in the volunteers' language (the relative wrote nothing yet).
    assert f"Сохранил(а) поиск, подходящий к обращению №{appeal_id}: Лехкодымов Емельян, 1904" in card.text

    # Saving the same search again, and another search for the same man: nobody is told twice.
    for text in ("/search Лехкодымов Емельян 1904", "/search Легкодымов Емельян"):
        again = await save_a_search(api, text)
        assert again.text.startswith("Сақталды.")
    await api.send_text(api.user(RELATIVE), "/my")  # answered after both saves are fully handled
    [listing] = await api.wait_for_messages(RELATIVE)
    assert "Лехкодымов" in listing.text and "Легкодымов" in listing.text
    assert len(await cases_of(db, RELATIVE)) == 1
    assert len(api.messages(VOLUNTEERS)) == board_before + 1
    told = [m for m in api.history(RELATIVE) if m.text.startswith("🔔 Іздеу отряды")]
    assert told == [notice]


async def test_open_appeals_fitting_leaves_out_appeals_already_told_on_either_database(
    any_db: Database, tmp_path: Path
) -> None:
    db = any_db
    await import_registry(db, tmp_path / "found.csv", FOUND)
    found = await soldier_of_reading(db, "KZ-2019-0001")
    assert found is not None
    reading_pk, soldier = found
    first = await create_appeal(
        db, created_by=ADMIN, soldier=soldier, text="Первое.", audience=Audience(), reading_pk=reading_pk
    )
    second = await create_appeal(
        db, created_by=ADMIN, soldier=LEGKODYMOV, text="Второе.", audience=Audience()
    )
    for appeal_id in (first, second):
        await start_appeal(db, appeal_id)
    await give_consent(db, RELATIVE, "ru")
    search = await save_request(
        db, RELATIVE, SearchFields(surname="Лехкодымов", name="Емельян", birth_year=1904)
    )

    fits = await open_appeals_fitting(db, RELATIVE, search.id)
    assert sorted(found.appeal.id for found in fits) == [first, second]  # the same man, twice
    assert all(found.fit.candidate.reasons for found in fits)

    await open_case(db, RELATIVE, text="…", search=case_search(fits[0].appeal), source="appeal")
    async with db.session() as session:
        await enqueue(
            session,
            chat_id=RELATIVE,
            kind="appeal_match",
            dedup_key=f"appeal:{fits[1].appeal.id}:search:{search.id}",
            payload=fits[1].payload,
        )
    assert await appeals_told(db, RELATIVE, [first, second]) == {first, second}
    assert await open_appeals_fitting(db, RELATIVE, search.id) == []


async def test_the_appeals_photo_comes_with_the_news_that_a_saved_search_fits_it(
    running: RunningBot, tmp_path: Path
) -> None:
    api, db = running.api, running.db
    medallion = b"\x89PNG medallion"
    await sent_appeal(db, tmp_path, photo_file_id=api.upload(medallion))
    api.user(RELATIVE, "Айгүл", language_code="kk")
    await give_consent(db, RELATIVE, "kk")

    await save_a_search(api, "/search Лехкодымов Емельян 1904")

    notice, opened = await api.wait_for_messages(RELATIVE, 2)
    assert notice.method == "sendPhoto" and api.photo_of(notice) == medallion
    assert notice.text.startswith("🔔 Іздеу отряды осы жауынгердің туыстарын іздеп жүр")
    assert "№1 өтініш" in opened.text
