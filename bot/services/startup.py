"""Checks before the bot serves anyone: the database takes writes, and it is not a silently emptied one.

A SQLite file that was deleted (by mistake, a clean-up script, a lost volume) is created again, empty, by
the next start: the bot would then answer every relative "nothing found" and collect new requests into a
database that the administrator will overwrite when restoring the backup. So the running bot remembers,
in a small file next to the SQLite file (``<file>.last-seen``, a few counts and no personal data), that
the database held a registry or people; a start that finds it empty while that file says otherwise is
refused with one line that says what to do. A refused start is noticed at once; a bot that runs on an
empty database is noticed weeks later, by families. The file lives outside the database because a marker
inside it would be deleted with it. (PostgreSQL does not recreate a dropped database by itself: a
missing one is already a start-up error.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from models import Database, Person, Reading

_LOGGER = logging.getLogger(__name__)

MARKER_SUFFIX = ".last-seen"


FILE_CHECK_SECONDS = 5.0  # how often the running bot checks that its SQLite file is still the same file


class StartupRefused(Exception):
    """The bot must not start (or go on); the message is one line for the administrator."""


class DatabaseFileLost(StartupRefused):
    """The SQLite file was deleted or replaced under the running bot."""


@dataclass(frozen=True)
class Contents:
    """How much the database holds (counts only)."""

    readings: int
    people: int

    @property
    def empty(self) -> bool:
        return self.readings == 0 and self.people == 0


def marker_path(url: str) -> Path | None:
    """The file that remembers a SQLite database's contents (None for PostgreSQL or in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return path.with_name(path.name + MARKER_SUFFIX)


async def contents(db: Database) -> Contents:
    async with db.session() as session:
        readings = await session.scalar(select(func.count()).select_from(Reading))
        people = await session.scalar(select(func.count()).select_from(Person))
    return Contents(readings=int(readings or 0), people=int(people or 0))


async def check_writable(db: Database) -> None:
    """A write that changes nothing, so a read-only file or role fails here and not at a user's answer."""
    async with db.session() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = version_num"))


async def check_database(db: Database) -> Contents:
    """Refuse to start on a database that takes no writes, or that is empty but held data before."""
    await check_writable(db)
    now = await contents(db)
    marker = marker_path(db.url)
    if marker is None:
        return now
    before = _read_marker(marker)
    if now.empty and before is not None and not before.empty:
        raise StartupRefused(
            f"the database {make_url(db.url).database} is empty, but it held {before.readings} readings and {before.people} people when the bot "
            f"last ran: restore it from a backup, or delete {marker} to start with an empty database"
        )
    _write_marker(marker, now)
    return now


def file_identity(url: str) -> tuple[int, int] | None:
    """(device, inode) of a SQLite database file, None for PostgreSQL or a file that is not there."""
    marker = marker_path(url)
    if marker is None:
        return None
    try:
        status = marker.with_name(marker.name[: -len(MARKER_SUFFIX)]).stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


async def watch_database_file(
    url: str, stop: asyncio.Event, lost: list[str], interval: float = FILE_CHECK_SECONDS
) -> None:
    """Until ``stop``: when the SQLite file is deleted or replaced, SQLite goes on writing into the
    deleted file, and every answer since is lost at the next restart. Say so loudly and stop the bot
    (``lost`` gets the one-line reason), so the loss stays small and the administrator restores it."""
    first = file_identity(url)
    if first is None:
        return
    path = make_url(url).database
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            return
        if file_identity(url) != first:
            reason = (
                f"the database file {path} was deleted or replaced while the bot ran; it stopped so that no "
                f"more answers go into the deleted file: restore the file from a backup, then start it again"
            )
            _LOGGER.error("%s", reason)
            lost.append(reason)
            stop.set()
            return


def _read_marker(path: Path) -> Contents | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Contents(readings=int(data["readings"]), people=int(data["people"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        _LOGGER.warning("cannot read %s (%s); it is written again", path, type(error).__name__)
        return None


def _write_marker(path: Path, now: Contents) -> None:
    if now.empty:
        return  # nothing to lose yet: an empty database stays startable
    try:
        path.write_text(json.dumps({"readings": now.readings, "people": now.people}) + "\n", encoding="utf-8")
    except OSError as error:
        _LOGGER.warning("cannot write %s (%s): an emptied database would not be noticed", path, error)
