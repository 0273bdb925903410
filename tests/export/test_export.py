"""`amanat export`: the registry round-trips through `amanat import`, checksums verify, cases carry no
personal data, and a missing or empty database is refused without creating one."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import async_database_url
from bot.services.export import APPEAL_COLUMNS, CASE_COLUMNS, export_to_file, format_for
from bot.services.import_reader import COLUMNS
from bot.services.registry_import import import_file
from models import (
    Appeal,
    AppealDelivery,
    AppealStatus,
    Case,
    CaseMessage,
    CaseStatus,
    Database,
    DeliveryState,
    Person,
    Reading,
    Role,
    SearchRequest,
)
from tests.conftest import _create_postgres_database, _drop_postgres_database

# Russian headers, the reading notation, quotes, commas, a line break inside a field, Kazakh letters,
# surrounding text the importer strips, and extra columns present on some rows only.
REGISTRY = (
    "№,Фамилия,Имя,Отчество,Год рождения,Место рождения,Место обнаружения,Дата обнаружения,"
    "Примечание,Лопата,Каска\n"
    'KZ-2019-0142,Легкодымов (Лехкодымов),Ем...,Тимофеевич,19?4,"Южно-Казахстанская обл., '
    'Сайрамский р-н",Калужская обл.,2019-08-14,"вкладыш ""сырой"", читается с трудом",штык,\n'
    'KZ-2020-0007,Кусаинов / Кусайнов,Е.,,1910,Гурьевская обл.,"Смоленская обл.",2020,"две строки:\n'
    'вторая строка",,СШ-40\n'
    "KZ-2021-0100,Құсайынов,Нұрлан,,,Ақмола,,,,,\n"
    ",Иванов,Иван,Иванович,1912,Калининская обл.,,,=1+2,,\n"
)


async def stored(db: Database) -> list[tuple[Any, ...]]:
    """Every reading's imported content, in reading_id order."""
    async with db.session() as session:
        rows = (await session.scalars(select(Reading).order_by(Reading.reading_id))).all()
    return [
        (
            r.reading_id,
            r.surname,
            r.name,
            r.patronymic,
            r.birth_year,
            r.birthplace,
            r.found_place,
            r.found_date,
            r.notes,
            dict(r.extra or {}),
            r.content_hash,
        )
        for r in rows
    ]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["registry.csv", "registry.jsonl"])
async def test_registry_export_reimports_to_the_same_readings(
    any_db: Database, tmp_path: Path, migrated_sqlite_template: Path, name: str
) -> None:
    source = tmp_path / "source.csv"
    source.write_text(REGISTRY, encoding="utf-8")
    first = await import_file(any_db, source)
    assert first.inserted == 4 and not first.rejected
    before = await stored(any_db)

    out = tmp_path / name
    report = await export_to_file(any_db, "registry", out, format_for(out, None))
    assert report.rows == 4

    # The same database: every reading is found unchanged (content hash over every column and extra).
    again = await import_file(any_db, out)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 4, [])
    # A fresh database gets exactly the same readings, raw text, extras and all.
    fresh_path = tmp_path / "fresh.db"
    shutil.copyfile(migrated_sqlite_template, fresh_path)
    fresh = Database(f"sqlite+aiosqlite:///{fresh_path}")
    try:
        reimported = await import_file(fresh, out)
        assert reimported.inserted == 4 and not reimported.rejected
        assert await stored(fresh) == before
    finally:
        await fresh.dispose()
    assert before[1][:2] == ("KZ-2020-0007", "Кусаинов / Кусайнов")
    assert before[1][8] == "две строки:\nвторая строка"


async def test_registry_csv_has_the_documented_headers_and_a_checksum_that_verifies(
    any_db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "source.csv"
    source.write_text(REGISTRY, encoding="utf-8")
    await import_file(any_db, source)
    out = tmp_path / "partner.csv"
    report = await export_to_file(any_db, "registry", out, "csv")

    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    assert header[:16] == list(COLUMNS)  # the importer's columns (DESIGN.md, "Registry CSV"), in order
    assert header[16:] == ["Каска", "Лопата"]  # the extra columns, sorted
    assert len(rows) == 1 + 4

    digest = sha256_of(out)
    assert report.sha256 == digest
    assert (tmp_path / "partner.csv.sha256").read_text(encoding="utf-8") == f"{digest}  partner.csv\n"
    manifest = json.loads((tmp_path / "partner.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == 4 and manifest["sha256"] == digest and manifest["bytes"] == out.stat().st_size
    assert manifest["kind"] == "registry" and manifest["format"] == "csv" and manifest["columns"] == header
    assert not (tmp_path / "partner.csv.partial").exists()
    if shutil.which("sha256sum"):  # what a partner runs
        subprocess.run(
            ["sha256sum", "-c", "partner.csv.sha256"], cwd=tmp_path, check=True, capture_output=True
        )


# Personal data that must never reach the case export.
RELATIVE_ID, VOLUNTEER_ID = 987654321, 555000111
SECRETS = (
    str(RELATIVE_ID),
    str(VOLUNTEER_ID),
    "Айгерим",
    "aigerim_k",
    "Болат",
    "bolat_vol",
    "Легкодымов",
    "Емельян",
    "Абая",
    "Сайрам",
    "701 123",
    "спасибо",
)


async def seed_cases(db: Database) -> None:
    created = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    async with db.session() as session:
        session.add_all(
            [
                Person(id=RELATIVE_ID, first_name="Айгерим", username="aigerim_k", language="kk"),
                Person(id=VOLUNTEER_ID, first_name="Болат", username="bolat_vol", role=Role.VOLUNTEER),
            ]
        )
        await session.flush()
        request = SearchRequest(
            person_id=RELATIVE_ID,
            surname="Легкодымов",
            name="Емельян",
            birthplace="Южно-Казахстанская обл., с. Сайрам",
            family_place="Шымкент, ул. Абая 15",
        )
        session.add(request)
        await session.flush()
        closed = Case(
            person_id=RELATIVE_ID,
            request_id=request.id,
            summary="Легкодымов Емельян, ищет Айгерим (@aigerim_k)",
            status=CaseStatus.CLOSED,
            volunteer_id=VOLUNTEER_ID,
            created_at=created,
            claimed_at=created + timedelta(hours=1, minutes=30),
            closed_at=created + timedelta(days=2),
        )
        open_case = Case(person_id=RELATIVE_ID, summary="Легкодымов", created_at=created)
        session.add_all([closed, open_case])
        await session.flush()
        session.add_all(
            [
                CaseMessage(
                    case_id=closed.id,
                    author="relative",
                    author_id=RELATIVE_ID,
                    text="мой телефон +7 701 123 4567",
                ),
                CaseMessage(
                    case_id=closed.id, author="volunteer", author_id=VOLUNTEER_ID, text="спасибо, Болат"
                ),
            ]
        )


@pytest.mark.parametrize("name", ["cases.csv", "cases.jsonl"])
async def test_case_export_is_statistics_without_personal_data(
    any_db: Database, tmp_path: Path, name: str
) -> None:
    await seed_cases(any_db)
    out = tmp_path / name
    report = await export_to_file(any_db, "cases", out, format_for(out, None))
    assert report.rows == 2
    content = out.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret.casefold() not in content.casefold(), secret
    if name.endswith(".csv"):
        with out.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            assert tuple(reader.fieldnames or ()) == CASE_COLUMNS
            rows: list[dict[str, Any]] = list(reader)
    else:
        rows = [json.loads(line) for line in content.splitlines()]
        assert all(tuple(row) == CASE_COLUMNS for row in rows)
    closed, still_open = rows
    assert str(closed["status"]) == "closed" and str(still_open["status"]) == "new"
    assert str(closed["created_on"]) == "2026-03-01" and str(closed["closed_on"]) == "2026-03-03"
    assert float(closed["hours_to_claim"]) == 1.5 and float(closed["hours_to_close"]) == 48.0
    assert closed["region"] == "kz-turkestan"  # the gazetteer's id, never the place text
    assert int(closed["messages"]) == 2 and int(still_open["messages"]) == 0
    assert still_open["hours_to_claim"] in ("", None)


async def test_appeal_export_counts_deliveries_and_names_nobody(any_db: Database, tmp_path: Path) -> None:
    await seed_cases(any_db)
    async with any_db.session() as session:
        appeal = Appeal(
            created_by=VOLUNTEER_ID, text="Ищем родственников Иванова Ивана", status=AppealStatus.SENDING
        )
        session.add(appeal)
        await session.flush()
        session.add_all(
            [
                AppealDelivery(appeal_id=appeal.id, person_id=RELATIVE_ID, state=DeliveryState.SENT),
                AppealDelivery(appeal_id=appeal.id, person_id=VOLUNTEER_ID, state=DeliveryState.BLOCKED),
            ]
        )
    out = tmp_path / "appeals.jsonl"
    await export_to_file(any_db, "appeals", out, "jsonl")
    [line] = out.read_text(encoding="utf-8").splitlines()
    row = json.loads(line)
    assert tuple(row) == APPEAL_COLUMNS
    assert row["text"] == "Ищем родственников Иванова Ивана" and row["status"] == "sending"
    assert (row["deliveries"], row["sent"], row["blocked"], row["pending"], row["failed"]) == (2, 1, 1, 0, 0)
    assert str(RELATIVE_ID) not in line and str(VOLUNTEER_ID) not in line


def amanat(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMANAT_")}
    env["AMANAT_DATABASE__URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def test_export_of_a_missing_sqlite_database_fails_and_creates_nothing(tmp_path: Path) -> None:
    result = amanat(
        f"sqlite:///{tmp_path / 'none.db'}", tmp_path, "export", "registry", str(tmp_path / "r.csv")
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no database at" in result.stderr and "none.db" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # no database, no output


async def test_export_of_an_empty_postgres_database_fails_clearly(tmp_path: Path) -> None:
    admin_url = os.environ.get("AMANAT_TEST_POSTGRES_URL", "")
    if not admin_url:
        pytest.skip("needs AMANAT_TEST_POSTGRES_URL")

    admin = async_database_url(admin_url)
    url = await _create_postgres_database(admin)  # created, never migrated: no Amanat tables
    try:
        result = amanat(url, tmp_path, "export", "cases", str(tmp_path / "c.csv"))
        assert result.returncode == 1
        assert "is empty" in result.stderr and result.stderr.count("\n") == 1
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:  # export did not migrate (create) anything
                tables = await connection.scalar(
                    text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
                )
        finally:
            await engine.dispose()
        assert tables == 0
    finally:
        await _drop_postgres_database(admin, url)
    gone = amanat(url, tmp_path, "export", "cases", str(tmp_path / "c.csv"))
    # A database that cannot be opened is a configuration error (exit 2), as for every command.
    assert gone.returncode == 2 and "has no database" in gone.stderr and "Traceback" not in gone.stderr


def test_cli_export_names_the_database_and_writes_the_manifest(tmp_path: Path, sqlite_url: str) -> None:
    loaded = amanat(sqlite_url, tmp_path, "demo-data")
    assert loaded.returncode == 0, loaded.stderr
    result = amanat(
        sqlite_url, tmp_path, "export", "registry", str(tmp_path / "out.txt"), "--format", "jsonl"
    )
    assert result.returncode == 0, result.stderr
    assert "exporting registry from sqlite" in result.stderr
    lines = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
    manifest = json.loads((tmp_path / "out.txt.manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == len(lines) > 0 and manifest["format"] == "jsonl"
    stories = amanat(sqlite_url, tmp_path, "--lang", "en", "export", "stories", str(tmp_path / "s"))
    assert stories.returncode == 0, stories.stderr  # the memory book: nothing to export yet
    assert "nothing changed since the last export" in stories.stdout
