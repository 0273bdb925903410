"""Opening the database for a command or the running bot (composition: settings, models and services).

:func:`open_database` is what every command that touches the database calls first: it migrates the schema
to the newest revision, puts back what a large import stopped half-way left dropped, and rebuilds the
search keys of readings an older engine derived.
"""

from __future__ import annotations

from bot.config import Settings
from bot.services.registry_import import restore_after_bulk_import
from bot.services.registry_search import reindex_if_stale
from models import Database

__all__ = ["open_database"]


async def open_database(settings: Settings, *, reindex: bool = True) -> Database:
    """The configured database, migrated to the newest schema, its search keys built by this engine."""
    db = Database(settings.database.url, echo=settings.database.echo)
    await db.upgrade()
    await restore_after_bulk_import(db)  # what a large import stopped half-way left dropped
    if reindex:
        await reindex_if_stale(db)
    return db
