"""Bulk inserts through the driver's executemany, for imports of millions of rows.

SQLAlchemy's Core executemany spends more time per row on parameter bookkeeping than SQLite spends
storing the row. Here each column's own bind processor (JSON, datetimes) is applied to the values of the
columns that have one, and the tuples go straight to the driver, so what is stored is exactly what the
ORM would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession


def placeholders(dialect: Dialect, count: int) -> str:
    style = dialect.paramstyle
    if style == "qmark":
        marks = ["?"] * count
    elif style == "numeric_dollar":
        marks = [f"${i}" for i in range(1, count + 1)]
    elif style == "numeric":
        marks = [f":{i}" for i in range(1, count + 1)]
    elif style in {"format", "pyformat"}:
        marks = ["%s"] * count
    else:  # pragma: no cover - every dialect Amanat supports is above
        raise NotImplementedError(f"paramstyle {style!r}")
    return ", ".join(marks)


def insert_sql(dialect: Dialect, table: Table, columns: Sequence[str]) -> str:
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    table_name = dialect.identifier_preparer.format_table(table)
    return f"INSERT INTO {table_name} ({names}) VALUES ({placeholders(dialect, len(columns))})"


def update_sql(dialect: Dialect, table: Table, columns: Sequence[str], key: str) -> str:
    """UPDATE of `columns` for the row whose `key` is the last parameter, in the driver's style."""
    quote = dialect.identifier_preparer.quote
    marks = placeholders(dialect, len(columns) + 1).split(", ")
    assignments = ", ".join(f"{quote(name)} = {mark}" for name, mark in zip(columns, marks, strict=False))
    table_name = dialect.identifier_preparer.format_table(table)
    return f"UPDATE {table_name} SET {assignments} WHERE {quote(key)} = {marks[-1]}"


async def bulk_insert_tuples(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples in `columns` order; values must already be what the driver takes."""
    if rows:
        connection = await session.connection()
        await connection.exec_driver_sql(insert_sql(connection.dialect, table, columns), list(rows))


async def bulk_insert(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert `rows` (dicts with at least `columns`) into `table` in one executemany."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    processed: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(columns):
        processor = table.c[name].type.bind_processor(dialect)
        if processor is not None:
            processed.append((index, processor))
    pick = itemgetter(*columns)
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(pick(row)) if len(columns) > 1 else [pick(row)]
        for index, process in processed:
            if values[index] is not None:
                values[index] = process(values[index])
        params.append(tuple(values))
    await connection.exec_driver_sql(insert_sql(dialect, table, columns), params)
