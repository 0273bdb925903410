"""Who an appeal goes to: every active consented user, users of a language, or users whose saved searches
are in a region named by its historical or today's name."""

from __future__ import annotations

import pytest
from appeal_scenario import users

from bot.services.broadcast import AppealError, Audience, audience_ids
from bot.services.saved_searches import SearchFields, save_request
from models import Database, Person


async def test_the_audience_by_region_takes_historical_and_todays_names(db: Database) -> None:
    south, guryev, nowhere, blocked = await users(None, db, 1, 4)
    await save_request(db, south, SearchFields(surname="Кусаинов", birthplace="Южно-Казахстанская обл."))
    await save_request(db, guryev, SearchFields(surname="Жумабаев", family_place="Гурьевская область"))
    await save_request(db, nowhere, SearchFields(surname="Иванов"))
    await save_request(db, blocked, SearchFields(surname="Петров", birthplace="Туркестанская обл."))
    async with db.session() as session:
        (await session.get(Person, blocked)).active = False  # type: ignore[union-attr]

    async with db.session() as session:
        assert await audience_ids(session, Audience.parse("region:Туркестанская")) == [south]
        assert await audience_ids(session, Audience.parse("region:Атырауская")) == [guryev]
        assert await audience_ids(session, Audience.parse("lang:kk")) == [guryev]  # ru, kk, en, ru in turn
        assert await audience_ids(session, Audience.parse("all")) == [south, guryev, nowhere]


@pytest.mark.parametrize("text", ["region:Атлантида", "lang:de", "everyone", "region:", ""])
def test_an_unknown_audience_is_refused(text: str) -> None:
    with pytest.raises(AppealError):
        Audience.parse(text)
