"""Writing one batch of prepared registry rows inside the caller's transaction.

No database layer here, only SQL: the importing process runs it on its SQLAlchemy connection (SQLite or
PostgreSQL), and an import worker process runs it on a connection of its own to the same database (plain
`sqlite3`, or psycopg), so that a row goes from the worker's hands straight into the database
(`bot.services.registry_import`).

Idempotent by `reading_id`: a stored reading with the same content hash is left alone, a changed one is
updated and its blocking keys replaced, a new one inserted with its keys. A reading_id repeated within
the batch keeps its later row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.services.import_reader import CONTENT_COLUMNS, STAMP_COLUMNS, Prepared


class Store(Protocol):
    """The database as the writer needs it: statements in the driver's own parameter style."""

    name: str  # the SQL dialect: "sqlite" or "postgresql"

    def marks(self, count: int) -> str:
        """`count` parameter placeholders, comma-separated."""
        ...

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    def execute(self, sql: str, params: Sequence[Any]) -> None: ...

    def execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None: ...


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in columns)  # quoted: "rank" is a keyword somewhere


def insert_statement(store: Store, table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({_names(columns)}) VALUES ({store.marks(len(columns))})"


def _one_of(store: Store, column: str, values: list[Any]) -> tuple[str, Sequence[Any]]:
    """A condition that `column` is one of `values`, and its parameters.

    PostgreSQL takes the values as one array: a batch's ten thousand separate parameters cost it more to
    parse and plan than the lookup itself.
    """
    if store.name == "postgresql":
        return f"{column} = ANY({store.marks(1)})", [values]
    return f"{column} IN ({store.marks(len(values))})", values


def _by_reading_id(store: Store, columns: str, reading_ids: list[str]) -> list[tuple[Any, ...]]:
    condition, params = _one_of(store, "reading_id", reading_ids)
    return store.fetch(f"SELECT {columns} FROM readings WHERE {condition}", params)


def _new_ids(store: Store, rows: list[Prepared]) -> dict[str, int]:
    """The ids the database gave the readings just inserted, by reading_id."""
    if store.name == "sqlite":
        # The insert holds the write lock, and SQLite numbers new rows one past the largest id, in order:
        # the new readings are the last ones. Checked at both ends; anything else asks for every id.
        last = store.fetch("SELECT max(id) FROM readings", ())[0][0]
        first = last - len(rows) + 1
        ends = dict(store.fetch("SELECT id, reading_id FROM readings WHERE id IN (?, ?)", (first, last)))
        if ends == {first: rows[0][1], last: rows[-1][1]}:
            return {row[1]: first + offset for offset, row in enumerate(rows)}
    return {row[1]: row[0] for row in _by_reading_id(store, "id, reading_id", [row[1] for row in rows])}


def write_batch(store: Store, batch_id: int, stamp: Any, rows: list[Prepared]) -> Counts:
    """Write one batch of prepared rows; how many were inserted, updated and left unchanged.

    `stamp` is the time of the import as the driver takes it for `created_at` and `updated_at`.
    """
    counts = Counts()
    latest: dict[str, Prepared] = {}
    for row in rows:  # a reading_id repeated in one file: the later row wins
        latest[row[1]] = row
    existing = {
        reading_id: (pk, digest, batch)
        for pk, reading_id, digest, batch in _by_reading_id(
            store, "id, reading_id, content_hash, changed_batch", list(latest)
        )
    }
    # Readings written by an import that never finished (lost) are hidden: one this batch finds unchanged
    # becomes this batch's, so that it is seen once this import finishes.
    unfinished = {
        batch
        for (batch,) in store.fetch(
            f"SELECT id FROM import_batches WHERE state <> 'finished' AND id <> {store.marks(1)}", (batch_id,)
        )
    }
    new_rows: list[Prepared] = []
    changed_rows: list[tuple[int, Prepared]] = []
    revived: list[int] = []
    for reading_id, row in latest.items():
        known = existing.get(reading_id)
        if known is None:
            new_rows.append(row)
        elif known[1] == row[2]:
            counts.unchanged += 1  # nothing to write: a re-import of a big file stays cheap
            if known[2] in unfinished:
                revived.append(known[0])
        else:
            changed_rows.append((known[0], row))
    if revived:
        slots = store.marks(1 + (1 if store.name == "postgresql" else len(revived))).split(", ")
        which: tuple[str, list[Any]] = (
            (f"id = ANY({slots[1]})", [revived])
            if store.name == "postgresql"
            else (f"id IN ({', '.join(slots[1:])})", list(revived))
        )
        store.execute(
            f"UPDATE readings SET changed_batch = {slots[0]} WHERE {which[0]}", [batch_id, *which[1]]
        )
    pks: dict[str, int] = {}
    if new_rows:
        store.insert(
            "readings",
            CONTENT_COLUMNS + STAMP_COLUMNS,
            [(*row[3], batch_id, stamp, stamp) for row in new_rows],
        )
        pks.update(_new_ids(store, new_rows))
        counts.inserted += len(new_rows)
    if changed_rows:
        columns = (*CONTENT_COLUMNS, "changed_batch", "updated_at")
        marks = store.marks(len(columns) + 1).split(", ")
        assignments = ", ".join(f'"{name}" = {mark}' for name, mark in zip(columns, marks, strict=False))
        store.execute_many(
            f"UPDATE readings SET {assignments} WHERE id = {marks[-1]}",
            [(*row[3], batch_id, stamp, pk) for pk, row in changed_rows],
        )
        changed_pks = [pk for pk, _row in changed_rows]
        condition, params = _one_of(store, "reading_pk", changed_pks)
        store.execute(f"DELETE FROM reading_keys WHERE {condition}", params)
        pks.update({row[1]: pk for pk, row in changed_rows})
        counts.updated += len(changed_rows)
    key_rows = [
        (pks[row[1]], key) for row in (*new_rows, *(row for _pk, row in changed_rows)) for key in row[4]
    ]
    if key_rows:
        store.insert("reading_keys", ("reading_pk", "key"), key_rows)
    return counts


class _DriverStore:
    """A DB-API connection of an import worker's own, in autocommit mode: `write` makes the transaction."""

    name = ""
    mark = "?"
    connection: Any

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self.connection.execute(sql, params).fetchall())

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        self.connection.execute(sql, params)

    def execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.connection.cursor().executemany(sql, rows)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        self.execute_many(insert_statement(self, table, columns), rows)

    def close(self) -> None:
        self.connection.close()


class SqliteStore(_DriverStore):
    """A plain `sqlite3` connection to a SQLite file."""

    name = "sqlite"

    def __init__(self, path: str, pragmas: Sequence[str]) -> None:
        self.connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        for pragma in pragmas:
            self.connection.execute(f"PRAGMA {pragma}")

    def write(self, batch_id: int, stamp: Any, rows: list[Prepared]) -> Counts:
        """One batch in a transaction of its own (waiting for the write lock while another writes)."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            counts = write_batch(self, batch_id, stamp, rows)
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")
        return counts


class PostgresStore(_DriverStore):
    """A psycopg connection to a PostgreSQL database (libpq connection string or URL); COPY for inserts.

    Values go as text and the server reads them by the column's type: JSON text into JSONB, an ISO time
    stamp into a timestamp.
    """

    name = "postgresql"
    mark = "%s"

    def __init__(self, conninfo: str) -> None:
        import psycopg  # here, not at the top: a worker writing to SQLite does without it

        self.connection = psycopg.connect(conninfo, autocommit=True)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        with self.connection.cursor().copy(f"COPY {table} ({_names(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def write(self, batch_id: int, stamp: Any, rows: list[Prepared]) -> Counts:
        """One batch in a transaction of its own."""
        with self.connection.transaction():
            return write_batch(self, batch_id, stamp, rows)
