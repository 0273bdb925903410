"""Weights of the agreement categories: ln(m/u) per field and category, fitted on the DEV set.

``m`` is how often a true pair (relative's query, the man's reading) falls into a category, ``u`` how
often a pair of different men does. Regenerate with ``python -m bench.quality --fit`` (DEV seed only);
the values below were written by that command. ``PRIOR`` is the log-odds offset that makes "the man is
not in the registry" compete with the candidates; ``STRONG_CUTOFF`` is the probability above which a
match is called strong.
"""

from __future__ import annotations

WEIGHTS: dict[str, dict[str, float]] = {
    "surname": {
        "exact": 0.0,  # replaced by the term-frequency weight
        "phonetic": 9.0,
        "wildcard": 8.5,
        "typo1": 8.0,
        "typo2": 5.0,
        "weak": 1.0,
    },
    "name": {"exact": 3.0, "variant": 2.6, "initial": 1.5, "similar": 1.5, "missing": 0.0, "differs": -3.0},
    "patronymic": {"exact": 2.5, "initial": 1.0, "similar": 1.2, "missing": 0.0, "differs": -2.5},
    "year": {
        "exact": 2.5,
        "pattern": 1.5,
        "range": 1.5,
        "near1": 1.0,
        "near2": 0.0,
        "near5": -1.5,
        "far": -4.0,
        "missing": 0.0,
    },
    "place": {"same": 1.5, "differs": -1.0, "unknown": 0.0},
    "family": {"same": 1.5, "differs": -0.5, "unknown": 0.0},
    "relative": {"same": 2.0, "differs": -0.5, "unknown": 0.0},
}
# ln m(exact surname); the exact-surname weight is this minus ln(frequency of the surname / registry size).
SURNAME_EXACT_LN_M = -1.0
PRIOR = 0.0
TEMPERATURE = 1.0
STRONG_CUTOFF = 0.6
