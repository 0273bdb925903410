"""The registry search engine: pure Python, no Telegram, no database. Its only import surface.

Code outside ``bot.search`` imports the engine from here (``from bot.search import Query, Registry``),
never from its modules, which hold one seam each:

- :mod:`~bot.search.types`: ``Query``, ``Record``, ``Match``, ``Reason`` and the engine's versions;
- :mod:`~bot.search.notation`: the reading notation (``?``, ``...``, alternatives, initials, years);
- :mod:`~bot.search.spelling`, :mod:`~bot.search.names`, :mod:`~bot.search.declension`,
  :mod:`~bot.search.gazetteer`: folding names written in any script or spelling, first-name variants,
  declined forms, historical and today's place names;
- :mod:`~bot.search.profiles`: a reading or a query parsed and folded into what the scorer compares;
- :mod:`~bot.search.keys`: blocking keys (``derive``, ``query_keys``);
- :mod:`~bot.search.stored`: what an import stores of a reading (``derive_stored``);
- :mod:`~bot.search.comparators`: the agreement category of one field;
- :mod:`~bot.search.scoring`: verdicts with reasons, fitted weights, the score as a probability;
- :mod:`~bot.search.registry`: the in-memory registry (columns of distinct values, scored in bulk);
- :mod:`~bot.search.reverse`: new readings against saved searches, scored as their forward searches;
- :mod:`~bot.search.reasons`: the reason codes for the translation catalogs.
"""

from bot.search import weights
from bot.search.declension import nominative_forms
from bot.search.gazetteer import place_profile
from bot.search.keys import derive, query_keys
from bot.search.names import name_group, patronymic_stem
from bot.search.notation import FieldReading, YearReading, parse_field, parse_year
from bot.search.profiles import Derived, NameForms, Profile, query_profile, record_profile
from bot.search.reasons import REASON_CODES
from bot.search.registry import Registry
from bot.search.reverse import (
    SUMS_REFRESH_GROWTH,
    RegistrySums,
    ReverseIndex,
    ReverseMatch,
    stored_profile,
    sums_are_fresh,
)
from bot.search.scoring import (
    FIELDS,
    FITTED,
    Model,
    QueryScorer,
    Verdict,
    probabilities,
    query_weights,
    rank_profiles,
    score_candidates,
)
from bot.search.spelling import fold, fold_variants, skeleton
from bot.search.stored import StoredDerived, derive_stored, derive_stored_fields
from bot.search.types import (
    ENGINE_VERSION,
    QUERY_VERSION,
    Match,
    Query,
    Reason,
    Record,
    query_from_record,
    record_from_query,
)

__all__ = [
    "ENGINE_VERSION",
    "FIELDS",
    "FITTED",
    "QUERY_VERSION",
    "REASON_CODES",
    "SUMS_REFRESH_GROWTH",
    "Derived",
    "FieldReading",
    "Match",
    "Model",
    "NameForms",
    "Profile",
    "Query",
    "QueryScorer",
    "Reason",
    "Record",
    "Registry",
    "RegistrySums",
    "ReverseIndex",
    "ReverseMatch",
    "StoredDerived",
    "Verdict",
    "YearReading",
    "derive",
    "derive_stored",
    "derive_stored_fields",
    "fold",
    "fold_variants",
    "name_group",
    "nominative_forms",
    "parse_field",
    "parse_year",
    "patronymic_stem",
    "place_profile",
    "probabilities",
    "query_from_record",
    "query_keys",
    "query_profile",
    "query_weights",
    "rank_profiles",
    "record_from_query",
    "record_profile",
    "score_candidates",
    "skeleton",
    "stored_profile",
    "sums_are_fresh",
    "weights",
]
