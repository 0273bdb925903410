"""What an import stores of a reading (`derive_stored`, built from cached JSON pieces) is what `derive` gives."""

from __future__ import annotations

import csv

import orjson

from bot.cli import sample_registry_path
from bot.search import Record, derive, derive_stored

NOTATION = [
    Record(
        reading_id="a", surname="Легкодымов (Лехкодымов)", name="Ем...", patronymic="Т.", birth_year="19?4"
    ),
    Record(
        reading_id="b",
        surname="...енко",
        name=None,
        birthplace="Чимкентская обл.",
        draft_office="Сайрамский РВК",
    ),
    Record(
        reading_id="c",
        surname="Құсайынов",
        name="Мұхамед",
        relative="жена Құсайынова Айша",
        family_address="Гурьев",
    ),
    Record(reading_id="d", surname="???"),
    Record(reading_id="e", surname="Иванов", birth_year="1904 (1903)", family_address="  "),
    Record(reading_id="f", surname="Бо?о?ин", name="Иван"),  # two unreadable: filed by its shape too
]


def sample_records() -> list[Record]:
    with sample_registry_path().open(encoding="utf-8", newline="") as text:
        return [
            Record(
                reading_id=row["reading_id"],
                surname=row["surname"],
                name=row["name"] or None,
                patronymic=row["patronymic"] or None,
                birth_year=row["birth_year"] or None,
                birthplace=row["birthplace"] or None,
                draft_office=row["draft_office"] or None,
                relative=row["relative"] or None,
                family_address=row["family_address"] or None,
            )
            for row in csv.DictReader(text)
        ]


def test_stored_derivation_equals_derive_on_the_sample_registry_and_the_notation() -> None:
    records = sample_records() + NOTATION
    assert len(records) > 400
    for record in records:
        expected = derive(record)
        got = derive_stored(record)
        assert orjson.loads(got.json) == expected.data, record
        assert (got.surname_norm, got.keys) == (expected.surname_norm, expected.keys), record
