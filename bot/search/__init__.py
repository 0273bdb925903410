"""The registry search engine: pure Python, no Telegram, no database.

Parses the reading notation (:mod:`bot.search.notation`), normalizes names written in any script or
spelling, derives blocking keys, and scores candidate readings as probabilities.
"""

from bot.search.notation import FieldReading, YearReading, parse_field, parse_year

__all__ = ["FieldReading", "YearReading", "parse_field", "parse_year"]
