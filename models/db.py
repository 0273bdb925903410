"""The async engine and session factory, and `upgrade()` which brings any database to the newest schema."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

_LOGGER = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def json_text(value: Any) -> str:
    """JSON columns as compact UTF-8 text (the default escapes every Cyrillic letter into six bytes)."""
    return orjson.dumps(value).decode("utf-8")


# Every connection to a SQLite database, the import workers' own included (bot.services.import_worker).
SQLITE_PRAGMAS = (
    # 16 KB pages for a new database file (an existing one keeps its own): a reading is about 2 KB, and
    # an import of 300,000 readings ran about 20 % faster than with the default 4 KB (bench/README.md).
    "page_size=16384",
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    # Deleted rows are overwritten with zeros, so what /forget erased is not left in free pages.
    "secure_delete=ON",
    "busy_timeout=30000",
    # 64 MB of page cache (the default is 2 MB): a registry's indexes are written in random key order.
    "cache_size=-65536",
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _error_chain(error: BaseException) -> list[BaseException]:
    """``error``, what it wraps (a driver's error inside SQLAlchemy's) and what caused it."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or any(item is known for known in seen):
            continue
        seen.append(item)
        todo.extend([getattr(item, "orig", None), item.__cause__, item.__context__])
    return seen


def connection_problem(error: BaseException, url: str) -> str | None:
    """What to check when opening the database at ``url`` failed with ``error``, in one line; None when
    ``error`` is not one of the known start-up failures (then it is a bug, and its traceback matters)."""
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    chain = _error_chain(error)
    text = " | ".join(str(item) for item in chain)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ":memory:"
        if "unable to open database file" in text:
            return (
                f"cannot open the SQLite file {path}: does its folder exist, and may this user write there?"
            )
        if "readonly database" in text or "read-only" in text:
            return f"the SQLite file {path} is read-only: check its and its folder's permissions and owner"
        if "disk I/O error" in text or "file is not a database" in text:
            return f"the SQLite file {path} cannot be read ({chain[-1]}): restore it from a backup"
        return None
    database, user = parsed.database or "", parsed.username or ""
    if "read-only transaction" in text:
        return (
            f"PostgreSQL at {where} takes no writes (a read-only replica, or default_transaction_read_only "
            f"on database {database!r}): point the URL at the primary, or make the database writable"
        )
    if "password authentication failed" in text:
        return f"PostgreSQL refused the password of role {user!r} at {where}: check the password"
    if f'role "{user}" does not exist' in text:
        return f"PostgreSQL at {where} has no role {user!r}: check the user name, or create the role"
    if f'database "{database}" does not exist' in text:
        return f"PostgreSQL at {where} has no database {database!r}: create it (createdb) or fix the name"
    refused = any(isinstance(item, ConnectionRefusedError) for item in chain)
    if refused or "Connect call failed" in text or "Connection refused" in text:
        return f"nothing answers at {where}: is PostgreSQL running there, and are the host and port right?"
    if any(isinstance(item, socket.gaierror) for item in chain) or "Name or service not known" in text:
        return f"the database host {parsed.host!r} is unknown: check the host name"
    if any(isinstance(item, TimeoutError | socket.timeout) for item in chain):
        return f"PostgreSQL at {where} does not answer (timed out): check the host, port and firewall"
    return None


def join_sqlite_workers(timeout: float) -> None:
    """Wait up to ``timeout`` seconds in all for aiosqlite's worker threads that are finishing."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)") and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


def database_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database cannot be used right now (gone, locked, read-only, out of
    connections), as opposed to a bug in a statement: the user is asked to try again shortly.

    Only SQLAlchemy's errors, or a bare OSError / TimeoutError (a driver failing to connect raises those
    unwrapped), count: a Bot API time-out also has a TimeoutError inside it, and is not the database's.
    """
    for item in _error_chain(error):
        if isinstance(item, sa_exc.IntegrityError | sa_exc.ProgrammingError | sa_exc.DataError):
            return False
        if isinstance(item, sa_exc.DBAPIError | sa_exc.TimeoutError):
            return True
    return isinstance(error, OSError | TimeoutError)


def head_revision() -> str:
    """The newest migration's revision, read from the file names: each file of migrations/versions is
    ``NNNN_name.py`` with revision ``"NNNN"``, each after the one before (tests/registry/test_migrations.py
    holds that), so a start finds the schema current without loading Alembic and every migration."""
    return max(path.name[:4] for path in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def alembic_config(url: str | None = None) -> Any:
    """An Alembic configuration pointing at the bundled migrations (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig  # only when migrating: Alembic is slow to import

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """One database: an async engine plus a session factory. Create one per process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {
            "echo": echo,
            # An error's message (logged) and echo's output would otherwise show the statement's
            # parameters: names, texts. Logs carry ids, never personal data.
            "hide_parameters": True,
            "json_serializer": json_text,
            "json_deserializer": orjson.loads,
        }
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success and rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def upgrade(self, revision: str = "head") -> None:
        """Apply the migrations up to `revision` (every command that touches the database calls this)."""
        if revision == "head" and await self._stored_revision() == head_revision():
            return  # current: nothing to load

        def run(connection: Connection) -> None:
            from alembic import command

            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)

        async with self.engine.begin() as connection:
            await connection.run_sync(run)

    async def erase_traces(self) -> None:
        """After personal data was deleted: copy the WAL into the database file and empty it, so the
        deleted rows' old pages are gone from ``-wal`` too (``secure_delete`` zeroes them in the file).
        PostgreSQL: nothing to do here (its own VACUUM reclaims dead rows)."""
        if not self.is_sqlite:
            return
        async with self.engine.connect() as connection:
            result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = result.scalar()
        if busy:
            _LOGGER.warning(
                "the WAL checkpoint after an erasure was blocked by a reader; the next one runs it"
            )

    async def _stored_revision(self) -> str | None:
        """``alembic_version``'s one row, or None (a new database, or several heads)."""
        try:
            async with self.engine.connect() as connection:
                rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        except sa_exc.DBAPIError:  # no such table yet
            return None
        return str(rows[0][0]) if len(rows) == 1 else None

    async def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        def read(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        async with self.engine.connect() as connection:
            return await connection.run_sync(read)

    async def dispose(self) -> None:
        await self.engine.dispose()
