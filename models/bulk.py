"""Bulk inserts through the driver's executemany, for imports of millions of rows.

SQLAlchemy's Core executemany spends more time per row on parameter bookkeeping than SQLite spends
storing the row. Here each column's own bind processor (JSON, datetimes) is applied once per value and
the tuples go straight to the driver, so what is stored is exactly what the ORM would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession


def _placeholders(dialect: Dialect, count: int) -> str:
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


async def bulk_insert(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert `rows` (dicts with at least `columns`) into `table` in one executemany."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type.bind_processor(dialect) for name in columns
    ]
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES ({_placeholders(dialect, len(columns))})"
    params = [
        tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(processors, (row[name] for name in columns), strict=True)
        )
        for row in rows
    ]
    await connection.exec_driver_sql(sql, params)
