"""The in-memory registry index gives the database search's results and follows later imports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.search import Match, Query
from bot.services.import_batches import process_identity
from bot.services.registry_import import import_file
from bot.services.registry_index import RegistryIndex, open_registry_index
from bot.services.registry_search import Found, RegistrySearch, StoredRegistry
from models import BatchState, Database

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "data" / "sample_registry.csv"
HEADER = (
    "reading_id,surname,name,patronymic,birth_year,birthplace,draft_office,rank,family_address,relative,"
    "found_place,found_date,search_unit,burial_place,source,notes\n"
)


def _sample_queries() -> list[Query]:
    """Queries a relative might type, built from the sample's readings (some without a name or year)."""
    with SAMPLE.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    queries = []
    for i, row in enumerate(rows[:120]):
        surname = row["surname"].replace("?", "").replace(".", "").replace("*", "") or "Иванов"
        year = row["birth_year"][:4]
        queries.append(
            Query(
                surname=surname,
                name=row["name"] if i % 3 else None,
                patronymic=row["patronymic"] if i % 4 == 0 else None,
                birth_year=int(year) if year.isdigit() and i % 2 else None,
                birthplace=row["birthplace"] or None if i % 5 == 0 else None,
            )
        )
    queries += [
        Query(surname="Lekhkodymov", name="Emelyan"),
        Query(surname="Құсайынов"),
        Query(surname="Иванов", name="Иван"),
        Query(surname="Жумабаев", birth_year=1915, birth_year_to=1918),
        Query(surname="Несуществующенко", name="Пётр"),
    ]
    return queries


def _view(found: list[Found]) -> list[tuple[str, float, bool, tuple[str, ...]]]:
    """Results in a tie-proof order (equal scores may come in either order)."""
    rows = [
        (f.reading.reading_id, f.match.score, f.match.strong, tuple(r.code for r in f.match.reasons))
        for f in found
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def _match_view(matches: list[Match]) -> list[tuple[str, float, bool, tuple[str, ...]]]:
    rows = [(m.reading_id, m.score, m.strong, tuple(r.code for r in m.reasons)) for m in matches]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def _write(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
async def sample_db(db: Database) -> Database:
    report = await import_file(db, SAMPLE)
    assert report.inserted > 300
    return db


async def test_index_gives_the_database_search_results(sample_db: Database) -> None:
    index = await RegistryIndex.load(sample_db)
    assert len(index) == len(index.registry) > 300
    keys_table = StoredRegistry(sample_db)
    assert isinstance(index, RegistrySearch) and isinstance(keys_table, RegistrySearch)
    assert await index.size() == await keys_table.size() == len(index)
    try:
        compared = 0
        for query in _sample_queries():
            stored = await keys_table.search(query, limit=50)
            indexed = await index.search(query, limit=50)
            # the keys table is the index's first pass; a query that pass leaves unsure also gets the
            # index's second blocking pass (bot.search.Registry.search), which the keys table lacks
            first_pass = index.registry.search(query, 50, registry_frequency=True, second_pass=False)
            assert _match_view(first_pass) == _view(stored), query
            if stored and stored[0].match.score >= 100.0 * index.registry.SECOND_PASS_BELOW:
                assert _view(indexed) == _view(stored), query
            compared += bool(stored)
            if stored:  # the reading is the one stored, raw text as imported
                assert indexed[0].reading == next(
                    f.reading for f in stored if f.reading.reading_id == indexed[0].reading.reading_id
                )
        assert compared > 100
        assert await index.get("no such reading") is None
        first = stored[0].reading if (stored := await keys_table.search(Query(surname="Иванов"))) else None
        assert first is not None and await index.get(first.reading_id) == first
    finally:
        await index.close()
    assert len(index) == 0  # closed: the memory is let go


async def test_reading_imported_after_the_index_is_found_after_refresh(
    sample_db: Database, tmp_path: Path
) -> None:
    index = await open_registry_index(sample_db, refresh_seconds=3600)
    try:
        query = Query(surname="Легкодымов", name="Емельян", birth_year=1904)
        before = {f.reading.reading_id for f in await index.search(query)}
        assert "NEW-1" not in before
        await import_file(
            sample_db, _write(tmp_path / "new.csv", "NEW-1,Легкодымов,Емельян,Иванович,1904,,,,,,,,,,,")
        )
        # not yet: the index refreshes at most every refresh_seconds
        assert "NEW-1" not in {f.reading.reading_id for f in await index.search(query)}
        assert await index.refresh(force=True) == 1
        found = await index.search(query)
        assert found[0].reading.reading_id == "NEW-1"
        assert found[0].reading.patronymic == "Иванович"
    finally:
        await index.close()


async def test_due_refresh_runs_on_search(sample_db: Database, tmp_path: Path) -> None:
    index = await RegistryIndex.load(sample_db, refresh_seconds=0.0)
    try:
        await import_file(sample_db, _write(tmp_path / "new.csv", "NEW-2,Кусаинов,Жумабай,,1912,,,,,,,,,,,"))
        found = await index.search(Query(surname="Kusainov", name="Zhumabai", birth_year=1912))
        assert found[0].reading.reading_id == "NEW-2"
    finally:
        await index.close()


async def test_updated_reading_replaces_its_old_entry(sample_db: Database, tmp_path: Path) -> None:
    index = await RegistryIndex.load(sample_db, refresh_seconds=0.0)
    try:
        await import_file(sample_db, _write(tmp_path / "a.csv", "UPD-1,Легкодымов,Емельян,,1904,,,,,,,,,,,"))
        await index.refresh(force=True)
        size = len(index)
        await import_file(
            sample_db, _write(tmp_path / "b.csv", "UPD-1,Легкодымов,Емельян,Петрович,1905,,,,,,,,,,,")
        )
        assert await index.refresh(force=True) == 1
        assert len(index) == size
        query = Query(surname="Легкодымов", name="Емельян")
        found = await index.search(query, limit=20)
        ids = [f.reading.reading_id for f in found]
        assert ids.count("UPD-1") == 1
        assert found[ids.index("UPD-1")].reading.birth_year == "1905"
        assert _view(found) == _view(await StoredRegistry(sample_db).search(query, limit=20))
        # the old year is gone from the index: a search for it scores the new reading's year
        by_year = await index.search(Query(surname="Легкодымов", name="Емельян", birth_year=1904), limit=20)
        updated = [f for f in by_year if f.reading.reading_id == "UPD-1"]
        assert len(updated) == 1
        assert "year_near" in {r.code for r in updated[0].match.reasons}
    finally:
        await index.close()


async def test_unfinished_import_is_not_loaded_until_it_finishes(sample_db: Database) -> None:
    from sqlalchemy import update

    from models import ImportBatch

    index = await RegistryIndex.load(sample_db, refresh_seconds=0.0)
    seen = index.seen_batch
    async with sample_db.session() as session:  # as if this process were still importing it
        host, pid, start = process_identity()
        await session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == seen)
            .values(state=BatchState.RUNNING, host=host, pid=pid, process_start=start)
        )
    again = await RegistryIndex.load(sample_db)
    assert again.seen_batch == seen - 1
    assert len(again) < len(index)


async def test_loading_the_index_leaves_the_garbage_collector_as_it_found_it(db: Database) -> None:
    import gc

    from bot.services.gc_pause import no_cyclic_collection

    await import_file(db, SAMPLE)
    assert gc.isenabled()
    index = await RegistryIndex.load(db)  # the collector is held off while the readings are added
    assert len(index) > 300 and gc.isenabled()
    gc.disable()
    try:
        with no_cyclic_collection():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), no_cyclic_collection():
        raise RuntimeError("a load that fails half-way")
    assert gc.isenabled()
