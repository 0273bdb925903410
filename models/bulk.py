"""Statements in the driver's own parameter style, for imports of millions of rows.

SQLAlchemy's Core executemany spends more time per row on parameter bookkeeping than SQLite spends
storing the row, so the importer hands the driver tuples of values already as it takes them (JSON as
text, each column's bind processor applied) through these statements.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.engine import Dialect


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
