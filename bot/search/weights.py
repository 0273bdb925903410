"""The fitted model: ln m and u per field and agreement category, and the calibration.

Written by ``python -m bench.quality --fit`` on a DEV set only (seed 20241); do not edit by hand.
The categories new to place, family fitted on seed 61129 (``--fields``); every other number as before.
The strong cut-off chosen again as the bot searches on seed 61129 (``--cutoff``).
``LN_M[field][category]`` is ln P(category | the reading is the man); ``U`` is the share of a category
among candidates that are other men (for the surname the engine counts the registry's readings in each category instead, the term-frequency
adjustment). ``PRIOR`` and ``TEMPERATURE`` turn the summed log-odds into a probability with "the man is
not in the registry" competing; ``STRONG_CUTOFF`` keeps strong verdicts on at most 1 % of absent soldiers on DEV
(with ``--cutoff``: as the bot searches, within 2 % at the upper end of a 95 % interval).
"""

from __future__ import annotations

# fmt: off
LN_M: dict[str, dict[str, float]] = {
    "surname": {"exact": -0.445, "phonetic": -2.173, "wildcard": -2.001, "typo1": -2.697, "typo2": -3.796, "weak": -5.165},
    "name": {"exact": -0.704, "variant": -2.856, "initial": -2.159, "similar": -1.874, "missing": -1.973, "differs": -3.669},
    "patronymic": {"exact": -1.41, "initial": -2.924, "similar": -2.983, "missing": -0.453, "differs": -6.775},
    "year": {"exact": -0.991, "pattern": -2.264, "range": -3.219, "near1": -2.869, "near2": -2.896, "near5": -7.873, "far": -7.873, "missing": -1.026},
    "place": {"same": -0.624, "differs": -5.927, "unknown": -0.808, "partial": -7.896},
    "family": {"same": -2.924, "differs": -7.873, "unknown": -0.072, "partial": -7.896},
    "relative": {"same": -2.843, "differs": -7.873, "unknown": -0.077},
}  # fmt: skip
U: dict[str, dict[str, float]] = {
    "surname": {"exact": 1.0, "phonetic": 1.0, "wildcard": 1.0, "typo1": 1.0, "typo2": 1.0, "weak": 1.0},
    "name": {"exact": 0.07756, "variant": 0.01336, "initial": 0.0394, "similar": 0.02264, "missing": 0.48303, "differs": 0.36401},
    "patronymic": {"exact": 0.01303, "initial": 0.00525, "similar": 0.00316, "missing": 0.65315, "differs": 0.32541},
    "year": {"exact": 0.02156, "pattern": 0.02984, "range": 0.00538, "near1": 0.05916, "near2": 0.05842, "near5": 0.15705, "far": 0.32186, "missing": 0.34674},
    "place": {"same": 0.03601, "differs": 0.5133, "unknown": 0.45069, "partial": 0.00654},
    "family": {"same": 0.00333, "differs": 0.04329, "unknown": 0.95338, "partial": 0.00939},
    "relative": {"same": 0.00465, "differs": 0.06177, "unknown": 0.93358},
}  # fmt: skip
# fmt: on
PRIOR = 1.5
TEMPERATURE = 1.1
STRONG_CUTOFF = 0.86
