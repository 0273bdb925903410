"""The registry search engine: pure Python, no Telegram, no database.

Parses the reading notation (:mod:`bot.search.notation`), folds names written in any script or spelling
(:mod:`bot.search.spelling`), derives blocking keys and scores candidate readings as probabilities
(:mod:`bot.search.engine`); :mod:`bot.search.reverse` runs the same engine from a new reading to the
saved requests. Reason codes for the translation catalogs are in :mod:`bot.search.reasons`.
"""

from bot.search.engine import (
    ENGINE_VERSION,
    QUERY_VERSION,
    Derived,
    Match,
    Query,
    Reason,
    Record,
    Registry,
    StoredDerived,
    derive,
    derive_stored,
    query_from_record,
    query_keys,
    record_from_query,
    score_candidates,
)
from bot.search.notation import FieldReading, YearReading, parse_field, parse_year
from bot.search.reasons import REASON_CODES

__all__ = [
    "ENGINE_VERSION",
    "QUERY_VERSION",
    "REASON_CODES",
    "Derived",
    "FieldReading",
    "Match",
    "Query",
    "Reason",
    "Record",
    "Registry",
    "StoredDerived",
    "YearReading",
    "derive",
    "derive_stored",
    "parse_field",
    "parse_year",
    "query_from_record",
    "query_keys",
    "record_from_query",
    "score_candidates",
]
