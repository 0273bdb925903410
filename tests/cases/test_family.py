"""/family on the founding case, over HTTP, and `amanat family` from the command line.

"Find the relatives of Легкодымов (Лехкодымов) Емельян, b. 1904, southern Kazakhstan, found in 2019 in
Kaluga region": a relative saved a search for Лехкодымов Емельян 1904; a search unit's reading of him is
imported and matched; a volunteer's /family lists the search (never who saved it), asks the family, and a
case opens only when they agree."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from cases_harness import ERZHAN, GROUP, OLGA, RELATIVE, Desk
from sqlalchemy import select

from bot.services import matching
from bot.services.registry_import import import_file
from models import Case, Match

FOUND = "KLG-2019-0001"
FOUNDING_READING = (
    "reading_id,surname,name,birth_year,birthplace,found_place,found_date,search_unit\n"
    f'{FOUND},Легкодымов (Лехкодымов),Емельян,1904,"Южно-Казахстанская обл.",'
    '"Калужская обл., Мосальский р-н",2019-05-06,поисковый отряд «Долг»\n'
)
REPO = Path(__file__).resolve().parents[2]


async def founding_case(desk: Desk, tmp_path: Path) -> None:
    """The relative's saved search, then the search unit's reading imported and matched."""
    await desk.consented(desk.relative)
    results = (await desk.say(desk.relative, "/search Лехкодымов Емельян 1904 Туркестанская обл."))[RELATIVE][
        -1
    ]
    await desk.press(desk.relative, results, "🔔 Сохранить поиск")
    csv = tmp_path / "found.csv"
    csv.write_text(FOUNDING_READING, encoding="utf-8")
    assert desk.db is not None
    await import_file(desk.db, csv)
    await matching.run_matching_pass(desk.db, desk.settings())


async def test_family_of_the_founding_case(desk: Desk, tmp_path: Path) -> None:
    await founding_case(desk, tmp_path)
    listing = (await desk.say(desk.erzhan, f"/family {FOUND}"))[ERZHAN][-1]
    assert "Ищем семью" in listing.text and FOUND in listing.text and "Калужская обл." in listing.text
    assert "1. " in listing.text and "Лехкодымов Емельян" in listing.text and "Туркестанская" in listing.text
    assert "ищут с 20" in listing.text
    assert (
        "Алия" not in listing.text
        and "aliya_private" not in listing.text
        and str(RELATIVE) not in listing.html
    )
    assert listing.button_texts()[0] == "📨 Связаться с семьёй 1"

    seen = await desk.press(desk.erzhan, listing, "📨 Связаться с семьёй 1")
    [offer] = seen[RELATIVE]
    assert "Поисковый отряд нашёл человека" in offer.text and FOUND in offer.text and "«Долг»" in offer.text
    assert "Ержан" not in offer.text
    assert offer.button_texts() == ["✅ Да, хочу поговорить", "✖️ Нет, спасибо"]
    assert desk.toast(desk.erzhan) == "Семье отправлен вопрос; их ответ придёт сюда."
    again = await desk.press(desk.erzhan, listing, "📨 Связаться с семьёй 1")
    assert again[RELATIVE] == [] and desk.toast(desk.erzhan) == "Эту семью уже спросили."
    assert desk.db is not None
    async with desk.db.session() as session:
        assert (await session.execute(select(Case))).scalars().all() == []  # no case before they agree

    forged = await desk.act(desk.api.press_data(desk.relative, offer.message_id, "fa:y:999999"))
    assert forged[GROUP] == [] and desk.toast(desk.relative) == "Эта кнопка из прошлого сообщения."

    seen = await desk.press(desk.relative, offer, "✅ Да, хочу поговорить")
    assert "обращение №1" in seen[RELATIVE][-1].text
    assert seen[GROUP][-1].text.startswith("✅ Обращение №1 взял(а) Ержан")
    assert any("Переписка" in m.text and FOUND in m.text for m in seen[ERZHAN])
    assert seen[OLGA] == []


async def test_family_finds_a_search_saved_after_the_reading(desk: Desk, tmp_path: Path) -> None:
    """The unit's reading is imported and matched first; the relative saves their search later, so no
    matching pass ever pairs them: /family matches the reading against the saved searches when asked."""
    assert desk.db is not None
    csv = tmp_path / "found.csv"
    csv.write_text(FOUNDING_READING, encoding="utf-8")
    await import_file(desk.db, csv)
    await matching.run_matching_pass(desk.db, desk.settings())
    await desk.consented(desk.relative)
    results = (await desk.say(desk.relative, "/search Лехкодымов Емельян 1904 Туркестанская обл."))[RELATIVE][
        -1
    ]
    await desk.press(desk.relative, results, "🔔 Сохранить поиск")
    async with desk.db.session() as session:
        assert (await session.execute(select(Match))).scalars().all() == []  # no pass paired them

    listing = (await desk.say(desk.erzhan, f"/family {FOUND}"))[ERZHAN][-1]
    assert "1. " in listing.text and "Лехкодымов Емельян" in listing.text and "Туркестанская" in listing.text
    assert str(RELATIVE) not in listing.html
    seen = await desk.press(desk.erzhan, listing, "📨 Связаться с семьёй 1")
    [offer] = seen[RELATIVE]
    assert "Поисковый отряд нашёл человека" in offer.text and FOUND in offer.text
    again = (await desk.say(desk.erzhan, f"/family {FOUND}"))[ERZHAN][-1]  # asked twice: listed once
    assert again.text.count("Лехкодымов Емельян") == 1


async def test_a_family_that_declines_gets_no_case(desk: Desk, tmp_path: Path) -> None:
    await founding_case(desk, tmp_path)
    listing = (await desk.say(desk.erzhan, f"/family {FOUND}"))[ERZHAN][-1]
    offer = (await desk.press(desk.erzhan, listing, "📨 Связаться с семьёй 1"))[RELATIVE][-1]
    # Text typed while the offer waits is the dialogue's, not swallowed by the offer.
    typed = await desk.say(desk.relative, "Кусаинов Бакыт 1915")
    assert typed[RELATIVE] and "Этого обращения больше нет" not in typed[RELATIVE][-1].text
    seen = await desk.press(desk.relative, offer, "✖️ Нет, спасибо")
    assert "ничего не передано" in seen[RELATIVE][-1].text
    assert "не хочет связи" in seen[ERZHAN][-1].text and seen[GROUP] == []
    nobody = await desk.say(desk.stranger, f"/family {FOUND}")
    assert nobody[9001][-1].text == "Only volunteers can do this."
    unknown = (await desk.say(desk.erzhan, "/family NO-SUCH-1"))[ERZHAN][-1]
    assert unknown.text.startswith("В реестре нет записи NO-SUCH-1")


async def test_family_of_a_man_described_in_words(desk: Desk, tmp_path: Path) -> None:
    await founding_case(desk, tmp_path)
    listing = (await desk.say(desk.erzhan, "/family Легкодымов Емельян 1904"))[ERZHAN][-1]
    assert "Ищем семью" in listing.text and "Легкодымов (Лехкодымов) Емельян" in listing.text
    # The two readings of him (the sample registry's and the unit's new one) both fit the description.
    assert FOUND in listing.text and "KZ-2019-0142" in listing.text
    assert "подходят и другие записи" in listing.text


async def test_amanat_family_on_the_command_line(desk: Desk, tmp_path: Path) -> None:
    await founding_case(desk, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env["AMANAT_DATABASE__URL"] = desk.url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "family",
        FOUND,
        "--json",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["reading_id"] == FOUND
    [family] = [f for f in result["families"] if f["soldier"]["surname"] == "Лехкодымов"]
    assert family["soldier"]["name"] == "Емельян" and family["soldier"]["birth_year"] == 1904
    assert set(family) == {"match_id", "score", "strong", "soldier", "region", "searching_since"}
    assert str(RELATIVE) not in out.decode() and "Алия" not in out.decode()

    missing = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "family",
        "NO-SUCH-1",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, missing_err = await missing.communicate()
    assert missing.returncode == 1 and "NO-SUCH-1" in missing_err.decode()


async def test_a_reply_in_another_case_keeps_the_offer(desk: Desk, tmp_path: Path) -> None:
    await founding_case(desk, tmp_path)
    opened = (await desk.say(desk.relative, "/ask Вопрос про другое"))[RELATIVE][-1]
    listing = (await desk.say(desk.erzhan, f"/family {FOUND}"))[ERZHAN][-1]
    offer = (await desk.press(desk.erzhan, listing, "📨 Связаться с семьёй 1"))[RELATIVE][-1]
    added = (await desk.say(desk.relative, "И ещё одно", reply_to=opened))[RELATIVE][-1]
    assert "Добавлено к обращению №1" in added.text
    seen = await desk.press(desk.relative, offer, "✅ Да, хочу поговорить")
    assert "обращение №2" in seen[RELATIVE][-1].text
