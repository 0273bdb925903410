"""`amanat export stories OUT/`: JSON lines and files for partner portals, incremental (a marker in OUT),
a checksum manifest a partner verifies, and never a story that may not be published."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from book_data import FAMILY, HIDDEN_FAMILY, NAMED_FAMILY, NEVER, Seeded, amanat

from bot.services import stories
from bot.services.story_export import verify_batch
from bot.services.story_files import DirectoryStore
from models import Database


def batches(out: Path) -> list[Path]:
    return sorted(path for path in out.iterdir() if path.is_dir())


def records(batch: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (batch / "stories.jsonl").read_text(encoding="utf-8").splitlines()]


async def test_the_export_is_incremental_and_verifiable(
    seeded: tuple[Seeded, DirectoryStore], registry_url: str, tmp_path: Path
) -> None:
    book, storage = seeded
    out = tmp_path / "partner"
    first = amanat(registry_url, storage.root, tmp_path, "export", "stories", str(out))
    assert first.returncode == 0, first.stderr
    assert "published 2, removed 3, files 3" in first.stdout
    [batch] = batches(out)
    got = records(batch)
    published = {r["story_id"]: r for r in got if r["action"] == "publish"}
    removed = {r["story_id"] for r in got if r["action"] == "remove"}
    assert set(published) == {book.named, book.anonymous}
    assert book.withdrawn in removed and len(removed) == 3  # withdrawn, declined, units only
    named = published[book.named]
    assert named["family_name"] == NAMED_FAMILY and named["consent"] == "named"
    assert named["reading_id"] == book.reading_id and named["reading"]["reading_id"] == book.reading_id  # type: ignore[index]
    assert [f["caption"] for f in named["files"]] == ["Портрет 1940 года", "Последнее письмо"]  # type: ignore[union-attr]
    assert named["approved_at"] and named["submitted_at"] and named["updated_at"]
    assert published[book.anonymous]["family_name"] is None
    text = (batch / "stories.jsonl").read_text(encoding="utf-8")
    assert HIDDEN_FAMILY not in text and all(marker not in text for marker in NEVER.values())
    # The partner's check: every file listed with its sha256, and the files match.
    assert verify_batch(batch) == []
    manifest = json.loads((batch / "manifest.json").read_text(encoding="utf-8"))
    listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    assert "stories.jsonl" in listed and len(listed) == 4
    for relative, digest in listed.items():
        assert hashlib.sha256((batch / relative).read_bytes()).hexdigest() == digest
    for entry in named["files"]:  # type: ignore[union-attr]
        assert entry["path"] in listed

    # Nothing changed: no new batch.
    again = amanat(registry_url, storage.root, tmp_path, "export", "stories", str(out))
    assert again.returncode == 0 and "nothing changed since the last export" in again.stdout
    assert len(batches(out)) == 1

    # The named story is withdrawn: the next batch holds only its removal.
    db = Database(registry_url)
    try:
        assert await stories.withdraw(db, FAMILY, book.named) is not None
    finally:
        await db.dispose()
    third = amanat(registry_url, storage.root, tmp_path, "export", "stories", str(out))
    assert third.returncode == 0, third.stderr
    newest = batches(out)[-1]
    assert records(newest) == [
        {
            "schema": 1,
            "action": "remove",
            "story_id": book.named,
            "updated_at": records(newest)[0]["updated_at"],
        }
    ]
    assert verify_batch(newest) == []

    # The family is forgotten: their stories are erased, and the next batch tells partners to take them down.
    db = Database(registry_url)
    try:
        assert await stories.forget_stories(db, storage, FAMILY) == 7
    finally:
        await db.dispose()
    fourth = amanat(registry_url, storage.root, tmp_path, "export", "stories", str(out))
    assert fourth.returncode == 0, fourth.stderr
    erased = records(batches(out)[-1])
    assert {r["action"] for r in erased} == {"remove"} and set(erased[0]) == {
        "schema",
        "action",
        "story_id",
        "updated_at",
    }
    assert {book.named, book.anonymous, book.withdrawn} <= {r["story_id"] for r in erased}
    assert (
        "nothing changed"
        in amanat(registry_url, storage.root, tmp_path, "export", "stories", str(out)).stdout
    )

    # A file changed after delivery is caught.
    (newest / "stories.jsonl").write_text("{}\n", encoding="utf-8")
    assert verify_batch(newest) == ["changed: stories.jsonl"]


def test_the_export_refuses_a_file_as_its_folder(registry_url: str, tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    result = amanat(registry_url, tmp_path / "storage", tmp_path, "export", "stories", str(target))
    assert result.returncode == 1 and "is a file: name a folder for the export" in result.stderr
    assert target.read_text(encoding="utf-8") == "x"
