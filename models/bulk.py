"""Parameter placeholders in the driver's own style, for statements run on the driver directly.

SQLAlchemy's Core executemany spends more time per row on parameter bookkeeping than SQLite spends
storing the row, so the importer (`bot.services.import_writer`) hands the driver tuples of values
already as it takes them (JSON as text, each column's bind processor applied).
"""

from __future__ import annotations

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
