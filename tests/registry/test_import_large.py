"""Large imports: the worker process, and the search indexes a large import drops and builds again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection

from bot.cli import sample_registry_path
from bot.search import Query
from bot.services import registry_import
from bot.services.registry_import import ImportFailure, RegistryFile, import_file
from bot.services.registry_search import StoredRegistry
from models import Database, ImportBatch, Reading, ReadingKey

SEARCH_INDEXES = {"ix_reading_keys_key", "ix_readings_surname_norm"}
KEY_READING = "fk_reading_keys_reading_pk_readings"


async def stored(db: Database) -> tuple[list[tuple[object, ...]], set[tuple[str, str]]]:
    async with db.session() as session:
        readings = [
            tuple(row)
            for row in await session.execute(
                select(
                    Reading.reading_id,
                    Reading.surname,
                    Reading.birthplace,
                    Reading.parsed,
                    Reading.surname_norm,
                    Reading.derived,
                    Reading.content_hash,
                ).order_by(Reading.reading_id)
            )
        ]
        keys = {
            (reading_id, key)
            for reading_id, key in await session.execute(
                select(Reading.reading_id, ReadingKey.key).join(Reading, Reading.id == ReadingKey.reading_pk)
            )
        }
    return readings, keys


async def index_names(db: Database) -> set[str]:
    """The registry's indexes, and the keys' foreign keys (which a bulk import drops on PostgreSQL)."""

    def names(connection: Connection) -> set[str]:
        found = inspect(connection)
        indexes = {
            str(index["name"]) for table in ("readings", "reading_keys") for index in found.get_indexes(table)
        }
        return indexes | {str(key["name"]) for key in found.get_foreign_keys("reading_keys")}

    async with db.engine.connect() as connection:
        return await connection.run_sync(names)


@pytest.mark.parametrize("writer", ["workers", "here"])
async def test_the_worker_process_stores_exactly_what_this_process_does(
    any_db: Database, tmp_path: Path, writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if writer == "here":  # the workers send their batches and this process writes them
        monkeypatch.setattr(registry_import, "_write_target", lambda db, batch_id: None)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'here.db'}")
    try:
        await db.upgrade()
        here = await import_file(db, sample_registry_path(), parallel=False)
        expected = await stored(db)
    finally:
        await db.dispose()
    there = await import_file(any_db, sample_registry_path(), parallel=True)
    assert (there.rows_read, there.inserted, there.rejected) == (here.rows_read, here.inserted, here.rejected)
    assert here.inserted > 300
    assert await stored(any_db) == expected
    again = await import_file(any_db, sample_registry_path(), parallel=True)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, here.inserted)


async def test_a_large_import_builds_the_search_indexes_again_and_search_finds_the_man(
    any_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_import, "BULK_FROM_BYTES", 0)  # the sample counts as large here
    assert await registry_import._bulk_mode(any_db, RegistryFile(sample_registry_path()))
    await import_file(any_db, sample_registry_path())
    assert await index_names(any_db) >= SEARCH_INDEXES | {KEY_READING}
    found = await StoredRegistry(any_db).search(Query(surname="Lekhkodymov", name="Emelyan"))
    assert found and found[0].reading.surname.startswith("Легкодымов")


async def test_a_small_import_into_a_larger_registry_keeps_the_indexes(db: Database, tmp_path: Path) -> None:
    await import_file(db, sample_registry_path())
    small = tmp_path / "one.csv"
    small.write_text("reading_id,surname\nX-1,Иванов\n", encoding="utf-8")
    assert not await registry_import._bulk_mode(db, RegistryFile(small))


async def test_indexes_dropped_by_a_stopped_import_come_back_with_the_next(
    any_db: Database, tmp_path: Path
) -> None:
    await registry_import._drop_for_bulk_import(any_db)  # as a large import killed half-way leaves them
    dropped = await index_names(any_db)
    assert not SEARCH_INDEXES & dropped
    assert (KEY_READING in dropped) == any_db.is_sqlite  # SQLite keeps the foreign key
    small = tmp_path / "one.csv"
    small.write_text("reading_id,surname\nX-1,Иванов\n", encoding="utf-8")
    await import_file(any_db, small)
    assert await index_names(any_db) >= SEARCH_INDEXES | {KEY_READING}


async def test_a_file_gone_after_its_check_fails_the_import_with_the_reason(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "gone.csv"
    path.write_text("reading_id,surname\nX-1,Иванов\n", encoding="utf-8")
    source = RegistryFile(path)
    path.unlink()  # gone between the check and the worker's start
    with pytest.raises(ImportFailure, match=r"(?i)no such file"):
        processes = await registry_import._start_workers(path, 100, 2)
        workers = await registry_import._hand_out_pieces(source, 100, processes)
        async for _batch in registry_import._batches_from_workers(source, workers, None):
            pass


BAD_ROWS = (
    "reading_id,surname,name,birth_year\n"
    "B1,Иванов,Пётр,1910\n"
    "B2,,Пётр,1910\n"
    "\n"
    "B3,12345,Пётр,1910\n"
    "B4,Петров,Иван,2025\n"
    "B5,Сидоров,Иван,abc\n"
    "B6,Орлов,Иван,1911,extra,cells\n"
    "B7,Белов,Иван,1913\n"
    "B1,Иванов,Пётр,1911\n"
)
CASES = {
    "rejected rows in pieces of 3 lines": ("bad.csv", BAD_ROWS.encode()),
    "windows line ends and a BOM": ("bom.csv", BAD_ROWS.replace("\n", "\r\n").encode("utf-8-sig")),
    "a quoted field over two lines": (
        "quoted.csv",
        'reading_id,surname,notes\nQ1,Иванов,"первая строка\nвторая строка"\nQ2,Петров,"он ""Ваня"""\n'
        "Q3,Сидоров,\nQ4,Орлов,x\n".encode(),
    ),
    "windows-1251": ("cp.csv", BAD_ROWS.encode("cp1251")),
    "a control character the workers use as a separator": (
        "control.csv",
        "reading_id,surname,notes\nC1,Иванов,a\x1fb\x1ec\nC2,Петров,\nC3,Сидоров,x\x1dy\n".encode(),
    ),
    "JSON lines": (
        "rows.jsonl",
        "\n".join(
            json.dumps(row, ensure_ascii=False)
            for row in [
                {"reading_id": "J1", "surname": "Иванов", "note": 'с "кавычкой'},
                {"reading_id": "J2", "surname": ""},
                {"reading_id": "J3", "surname": "Петров", "birth_year": "19?4"},
                {"reading_id": "J4", "surname": "Сидоров"},
            ]
        ).encode()
        + b"\n{broken\n",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_workers_reading_pieces_of_the_file_report_the_same_lines_and_store_the_same(
    case: str, tmp_path: Path
) -> None:
    name, content = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    results = []
    for parallel in (False, True):
        db = Database(f"sqlite+aiosqlite:///{tmp_path / f'{parallel}.db'}")
        try:
            await db.upgrade()
            report = await import_file(db, path, parallel=parallel, batch_size=3)
            results.append(
                (report.rows_read, report.inserted, report.updated, report.rejected, await stored(db))
            )
        finally:
            await db.dispose()
    assert results[0] == results[1]
    assert results[0][1] > 0


def test_the_worker_side_needs_no_database_layer_and_stores_json_as_the_database_does() -> None:
    import subprocess
    import sys

    from bot.services.import_reader import json_text
    from models.db import json_text as database_json_text

    value = {"s": ["Легкодымов", ["Легкодымов"], [], 0], "y": None, "n": 1.5}
    assert json_text(value) == database_json_text(value)
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, bot.services.import_worker; print('sqlalchemy' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"  # a worker starts without loading SQLAlchemy and the models


def test_a_worker_reports_what_went_wrong_to_the_importing_process(tmp_path: Path) -> None:
    import io

    import orjson

    from bot.services.import_worker import worker_main

    out = io.BytesIO()
    worker_main(str(tmp_path / "missing.csv"), 100, out, 0, 2, [], "utf-8", io.BytesIO(b"null\n"))
    data = out.getvalue()
    size = int.from_bytes(data[:8], "big")
    kind, reason = orjson.loads(data[8 : 8 + size])
    assert kind == "error" and "no such file" in reason


async def test_a_worker_failing_half_way_stops_the_import_and_says_so(db: Database, tmp_path: Path) -> None:
    from bot.services.registry_import import ImportStopped

    source = RegistryFile(sample_registry_path())
    processes = await registry_import._start_workers(tmp_path / "elsewhere.csv", 100, 2)  # cannot read it
    workers = await registry_import._hand_out_pieces(source, 100, processes)
    with pytest.raises(ImportStopped, match="no such file"):
        async for _batch in registry_import._batches_from_workers(source, workers, None):
            pass  # the first piece, prepared here, comes through; then the workers' error


async def test_a_file_whose_head_looks_utf8_but_is_not_is_imported_as_windows_1251(
    tmp_path: Path,
) -> None:
    # The workers begin on the encoding of the file's first megabyte; the whole file decides it.
    head = "".join(f"H{n},Ivanov,Petr,1910,{'plain ASCII ' * 10}\n" for n in range(10_000))  # > 1 MB
    header = "reading_id,surname,name,birth_year,notes\n"
    path = tmp_path / "late.csv"
    path.write_bytes((header + head + "R1,Легкодымов,Емельян,1904,\n").encode("cp1251"))
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'late.db'}")
    try:
        await db.upgrade()
        report = await import_file(db, path, parallel=True)
        async with db.session() as session:
            surname = await session.scalar(select(Reading.surname).where(Reading.reading_id == "R1"))
    finally:
        await db.dispose()
    assert report.encoding == "cp1251"
    assert (report.inserted, surname) == (10_001, "Легкодымов")


async def test_a_file_that_is_no_known_text_changes_nothing_with_workers_too(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "binary.csv"
    # UTF-8 for its first megabyte, then a byte that neither UTF-8 nor Windows-1251 can read
    path.write_bytes(b"reading_id,surname\n" + b"X1,Ivanov\n" * 120_000 + b"X2,\x98\n")
    with pytest.raises(ImportFailure, match="neither UTF-8 nor Windows-1251"):
        await import_file(db, path, parallel=True)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Reading)) == 0
        assert await session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_workers_write_only_to_a_database_file_they_can_open() -> None:
    memory = Database("sqlite+aiosqlite://")
    assert registry_import._write_target(memory, 1) is None  # in memory: they send the batches here
    target = registry_import._write_target(Database("sqlite+aiosqlite:///some/where.db"), 7)
    assert target is not None and target["batch_id"] == 7 and target["database"].endswith("where.db")


def test_workers_write_to_postgresql_with_the_same_login_unless_the_url_has_driver_options() -> None:
    server = Database("postgresql+asyncpg://amanat:p%40ss@db.example:5433/registry")
    target = registry_import._write_target(server, 3)
    assert target is not None and target["batch_id"] == 3
    # psycopg reads a plain libpq URL: the async driver's name goes, the login stays (and is escaped)
    assert target["postgresql"] == "postgresql://amanat:p%40ss@db.example:5433/registry"
    options = Database("postgresql+asyncpg://amanat@db.example/registry?ssl=require")
    assert registry_import._write_target(options, 3) is None  # asyncpg's options: sent here instead


async def test_a_worker_that_cannot_write_stops_the_import_and_says_why(tmp_path: Path) -> None:
    from bot.services.registry_import import ImportStopped

    source = RegistryFile(sample_registry_path())
    processes = await registry_import._start_workers(source.path, 100, 2)
    workers = await registry_import._hand_out_pieces(source, 100, processes)
    target = {"database": str(tmp_path / "gone" / "amanat.db"), "pragmas": [], "batch_id": 1, "stamp": "x"}
    with pytest.raises(ImportStopped, match="unable to open database file"):
        async for _batch in registry_import._batches_from_workers(source, workers, target):
            pass  # the first piece comes through to be written here; the first worker's turn fails


async def test_a_worker_that_cannot_reach_postgresql_stops_the_import_and_says_why() -> None:
    from bot.services.registry_import import ImportStopped

    source = RegistryFile(sample_registry_path())
    processes = await registry_import._start_workers(source.path, 100, 2)
    workers = await registry_import._hand_out_pieces(source, 100, processes)
    nowhere = "postgresql://amanat:s3cret@127.0.0.1:1/registry"  # nothing listens on port 1
    target = {"postgresql": nowhere, "batch_id": 1, "stamp": "2026-11-25T00:00:00+00:00"}
    with pytest.raises(ImportStopped, match="OperationalError: connection") as stopped:
        async for _batch in registry_import._batches_from_workers(source, workers, target):
            pass
    assert "s3cret" not in str(stopped.value)  # the reason, never the password


@pytest.mark.parametrize("parallel", [False, True])
async def test_a_rejected_row_carries_its_reason_as_a_code_from_the_workers_too(
    any_db: Database, tmp_path: Path, parallel: bool
) -> None:
    path = tmp_path / "reasons.csv"
    path.write_text(
        "reading_id,surname,birth_year\nZ1,,1910\nZ2,Петров,3000\nZ3,Иванов,1912\n", encoding="utf-8"
    )
    report = await import_file(any_db, path, parallel=parallel)
    assert [(r.line, r.code, dict(r.args), r.reason) for r in report.rejected] == [
        (2, "no_surname", {}, "no surname"),
        (3, "year_impossible", {"year": "3000"}, "birth year 3000 is impossible for a soldier of 1941-1945"),
    ]
