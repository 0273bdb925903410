"""ENGINE_VERSION names what an import stores of a reading: readings stored by another version are derived
again (`amanat db upgrade`, or the index as it loads). So a change of what `derive_stored` gives must come
with a new version, or databases keep scorer data of the old engine that the new one misreads.

This test holds the digest of what the current version stores for the sample registry and the notation
examples. When it fails: bump ENGINE_VERSION in bot/search/types.py and record the new digest for it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
from sqlalchemy import delete, select, update
from test_derive_stored import NOTATION, sample_records

from bot.cli import sample_registry_path
from bot.search import ENGINE_VERSION, derive_stored
from bot.services.registry_import import import_file
from bot.services.registry_search import record_of_reading
from models import Database, Reading, ReadingKey
from tests.amanat_process import amanat_env, run

DIGESTS = {
    "1.2": "2500ab66dcf2b8ff61779f92b64c79e144419a5bcb8fb770e9538308a85cde29",
    "1.3": "58c1defc383d084856497adf726335521f7f8f1574fd57f12cc7f62a0077f558",
    "1.4": "d00e7a7a7a6b1f23995a0f85d3d18d0afe1389f8ed32fd8c7f8b9f92be51736e",
    "1.5": "0305b46c8f93246b9d5ae7055a36fb36c5f9aada15e7c67c55b90bc15190b82f",
}


def stored_digest() -> str:
    digest = hashlib.sha256()
    for record in [*NOTATION, *sample_records()]:
        stored = derive_stored(record)
        line = "\t".join([record.reading_id, stored.surname_norm, " ".join(sorted(stored.keys)), stored.json])
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def test_what_a_reading_stores_is_what_this_engine_version_stored_before() -> None:
    assert ENGINE_VERSION in DIGESTS, f"record the digest of ENGINE_VERSION {ENGINE_VERSION}"
    assert stored_digest() == DIGESTS[ENGINE_VERSION], (
        "what an import stores changed: bump ENGINE_VERSION (bot/search/types.py) so that databases derive "
        "their readings again, and record the new digest here"
    )


async def test_db_upgrade_derives_again_the_readings_an_older_engine_stored(
    sqlite_url: str, db: Database, tmp_path: Path
) -> None:
    await import_file(db, sample_registry_path())
    async with db.session() as session:  # as an engine of another version left them
        await session.execute(update(Reading).values(engine_version="1.0", derived={"v": "1.0"}))
        await session.execute(delete(ReadingKey))

    code, _out, err = await run(["db", "upgrade"], amanat_env(sqlite_url), tmp_path)
    assert code == 0, err

    async with db.session() as session:
        readings = (await session.scalars(select(Reading))).all()
        keys = {(key, pk) for key, pk in await session.execute(select(ReadingKey.key, ReadingKey.reading_pk))}
    assert readings and {reading.engine_version for reading in readings} == {ENGINE_VERSION}
    for reading in readings:
        stored = derive_stored(record_of_reading(reading))
        assert reading.derived == orjson.loads(stored.json)
        assert {key for key, pk in keys if pk == reading.id} == {key[:96] for key in stored.keys}
