"""`amanat export stories OUT/`: the memory book for partner portals, incremental, with checksums.

Each run that finds something new writes one batch folder into OUT (the schema is docs/story-export.md)::

    OUT/<batch>/stories.jsonl            one JSON object per changed story
    OUT/<batch>/files/<story>/<sha256>.<jpg|pdf>
    OUT/<batch>/SHA256SUMS               "<sha256>  <path>" for every file of the batch (sha256sum -c)
    OUT/<batch>/manifest.json            the batch: when, since when, counts, and every file's sha256
    OUT/export-state.json                the marker: the last change already exported

Only what changed since the marker is written. A story that may be published (approved, consented
``named`` or ``anonymous``, not withdrawn) is a ``publish`` record with its text and files; one that may
no longer be (withdrawn, declined, ``units_only``, or erased with /forget) is a ``remove`` record with
its id only, so a partner takes it down; pending stories wait. A ``named`` story carries the family's name, an ``anonymous`` one
never does. The batch is written under a temporary name and renamed when complete, and the marker moves
only after that, so a crash repeats a batch rather than losing one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bot.services.stories import READING_FIELDS, StoryView, aware, changed_since, erased_since, family_shown
from bot.services.story_files import StoryStore
from models import Database, StoryState

SCHEMA_VERSION: Final = 1
STATE_FILE: Final = "export-state.json"
RECORDS_FILE: Final = "stories.jsonl"
SUMS_FILE: Final = "SHA256SUMS"
MANIFEST_FILE: Final = "manifest.json"


class StoryExportError(Exception):
    """The export cannot be done: ``code`` (``cli.export_stories.error.<code>`` in the catalogs) and its
    arguments say why."""

    def __init__(self, code: str, **args: object) -> None:
        super().__init__(code)
        self.code = code
        self.args_ = args


@dataclass(frozen=True)
class StoryExportReport:
    batch: Path | None  # None: nothing changed since the last export
    published: int
    removed: int
    files: int
    since: datetime | None


def _iso(value: datetime | None) -> str | None:
    value = aware(value)
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _read_state(out: Path) -> datetime | None:
    path = out / STATE_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return datetime.fromisoformat(str(data["exported_until"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError) as error:
        raise StoryExportError("state_damaged", path=path) from error


def _write_state(out: Path, until: datetime, batch: str) -> None:
    path = out / STATE_FILE
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(
        json.dumps({"exported_until": _iso(until), "last_batch": batch}, indent=2) + "\n", encoding="utf-8"
    )
    os.replace(temporary, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish_record(story: StoryView, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``publish`` record of a story (docs/story-export.md)."""
    return {
        "schema": SCHEMA_VERSION,
        "action": "publish",
        "story_id": story.id,
        "reading_id": story.reading_id,
        "soldier": {
            key: story.soldier.get(key)
            for key in ("surname", "name", "patronymic", "birth_year", "birthplace")
        },
        "reading": {key: story.reading.get(key) for key in READING_FIELDS} if story.reading else None,
        "story": story.text,
        "consent": story.consent.value if story.consent else None,
        "family_name": family_shown(story),
        "files": files,
        "submitted_at": _iso(story.submitted_at),
        "approved_at": _iso(story.moderated_at),
        "updated_at": _iso(story.updated_at),
    }


def remove_record(story: StoryView) -> dict[str, Any]:
    """The ``remove`` record: the story may no longer be shown (nothing else of it is given)."""
    return {
        "schema": SCHEMA_VERSION,
        "action": "remove",
        "story_id": story.id,
        "updated_at": _iso(story.updated_at),
    }


def erased_record(story_id: int, erased_at: datetime) -> dict[str, Any]:
    """The ``remove`` record of a story erased with /forget."""
    return {"schema": SCHEMA_VERSION, "action": "remove", "story_id": story_id, "updated_at": _iso(erased_at)}


async def _copy_files(storage: StoryStore, story: StoryView, batch: Path) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = []
    for item in story.items:
        try:
            data = await storage.read(item.path)
        except (OSError, ValueError):
            continue  # a file gone from storage is left out (the caption with it)
        if hashlib.sha256(data).hexdigest() != item.sha256:
            continue
        relative = f"files/{story.id}/{item.sha256}.{'pdf' if item.kind == 'pdf' else 'jpg'}"
        target = batch / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files.append(
            {
                "path": relative,
                "kind": item.kind,
                "caption": item.caption,
                "sha256": item.sha256,
                "size": len(data),
            }
        )
    return files


async def export_stories(
    db: Database, storage: StoryStore, out: Path, *, now: datetime | None = None
) -> StoryExportReport:
    """Write the stories changed since OUT's marker as a new batch in OUT, and move the marker."""
    if out.exists() and not out.is_dir():
        raise StoryExportError("out_file", out=out)
    if not out.parent.is_dir():
        raise StoryExportError("no_parent", folder=out.parent)
    out.mkdir(exist_ok=True)
    since = _read_state(out)
    changed = [story for story in await changed_since(db, since) if story.state != StoryState.PENDING]
    erased = await erased_since(db, since)
    if not changed and not erased:
        return StoryExportReport(None, 0, 0, 0, since)
    moment = now or datetime.now(UTC)
    name = "stories-" + moment.strftime("%Y%m%dT%H%M%S%fZ")
    partial = out / (name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    published = removed = files = 0
    try:
        with (partial / RECORDS_FILE).open("w", encoding="utf-8") as records:
            for story in changed:
                if story.publishable:
                    copied = await _copy_files(storage, story, partial)
                    files += len(copied)
                    record = publish_record(story, copied)
                    published += 1
                else:
                    record = remove_record(story)
                    removed += 1
                records.write(json.dumps(record, ensure_ascii=False) + "\n")
            for story_id, erased_at in erased:  # erased with /forget: nothing but the id is left
                records.write(json.dumps(erased_record(story_id, erased_at)) + "\n")
                removed += 1
        listed = sorted(path.relative_to(partial).as_posix() for path in partial.rglob("*") if path.is_file())
        sums = {relative: _sha256(partial / relative) for relative in listed}
        (partial / SUMS_FILE).write_text(
            "".join(f"{digest}  {relative}\n" for relative, digest in sums.items()), encoding="utf-8"
        )
        until = max([story.updated_at for story in changed] + [when for _, when in erased])
        manifest = {
            "schema": SCHEMA_VERSION,
            "batch": name,
            "created_at": _iso(moment),
            "since": _iso(since),
            "until": _iso(until),
            "published": published,
            "removed": removed,
            "files": [{"path": relative, "sha256": digest} for relative, digest in sums.items()],
        }
        (partial / MANIFEST_FILE).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        os.replace(partial, out / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _write_state(out, until, name)
    return StoryExportReport(out / name, published, removed, files, since)


def verify_batch(batch: Path) -> list[str]:
    """What a partner checks: every file in SHA256SUMS is there with that digest; the problems found."""
    problems: list[str] = []
    for line in (batch / SUMS_FILE).read_text(encoding="utf-8").splitlines():
        digest, _, relative = line.partition("  ")
        path = batch / relative
        if not path.is_file():
            problems.append(f"missing: {relative}")
        elif _sha256(path) != digest:
            problems.append(f"changed: {relative}")
    return problems
