"""Opening the database for a command or the running bot (composition: settings, models and services).

:func:`open_database` is what every command that touches the database calls first: it migrates the schema
to the newest revision, puts back what a large import stopped half-way left dropped, and rebuilds the
search keys of readings an older engine derived. Commands that write (import, demo-data, run, console,
db upgrade) create a SQLite file that is not there yet (and, for the default file in the user's data
directory, its folder; a configured path in a missing folder is refused as a likely typo); commands that
only read (search, match) pass ``create=False`` and get :class:`DatabaseMissing` instead of a new, empty
registry.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Settings, default_database_path
from bot.services.registry_import import restore_after_bulk_import
from bot.services.registry_search import reindex_if_stale
from models import Database

__all__ = ["DatabaseMissing", "database_place", "open_database", "sqlite_file"]


class DatabaseMissing(Exception):
    """A command that only reads found no database file (and created none)."""

    def __init__(self, place: str) -> None:
        super().__init__(f"no database at {place}")
        self.place = place


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (absolute), or None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().absolute()


def database_place(url: str) -> str:
    """Where the database is, for a person: a SQLite file's path, else the URL without its password."""
    file = sqlite_file(url)
    if file is not None:
        return str(file)
    return make_url(url).render_as_string(hide_password=True)


async def open_database(settings: Settings, *, reindex: bool = True, create: bool = True) -> Database:
    """The configured database, migrated to the newest schema, its search keys built by this engine.

    ``create=False``: a SQLite file that does not exist raises :class:`DatabaseMissing` (nothing is made).
    """
    url = settings.database.url
    file = sqlite_file(url)
    if file is not None:
        if not create and not file.exists():
            raise DatabaseMissing(str(file))
        if file == default_database_path().absolute():
            file.parent.mkdir(parents=True, exist_ok=True)
    db = Database(url, echo=settings.database.echo)
    await db.upgrade()
    await restore_after_bulk_import(db)  # what a large import stopped half-way left dropped
    if reindex:
        await reindex_if_stale(db)
    return db
