"""The fitted model: ln m and u per field and agreement category, and the calibration.

Written by ``python -m bench.quality --fit`` on the DEV set only (seed 20241); do not edit by hand.
``LN_M[field][category]`` is ln P(category | the reading is the man); ``U`` is the share of a category
among candidates that are other men (for the surname the engine counts the registry's readings in each category instead, the term-frequency
adjustment). ``PRIOR`` and ``TEMPERATURE`` turn the summed log-odds into a probability with "the man is
not in the registry" competing; ``STRONG_CUTOFF`` keeps strong verdicts under 1.5 % of absent soldiers on DEV.
"""

from __future__ import annotations

# fmt: off
LN_M: dict[str, dict[str, float]] = {
    "surname": {"exact": -0.423, "phonetic": -2.172, "wildcard": -2.077, "typo1": -2.755, "typo2": -3.681, "weak": -5.052},
    "name": {"exact": -0.658, "variant": -3.176, "initial": -2.254, "similar": -1.912, "missing": -1.927, "differs": -3.466},
    "patronymic": {"exact": -1.407, "initial": -2.895, "similar": -2.922, "missing": -0.456, "differs": -6.787},
    "year": {"exact": -1.009, "pattern": -2.226, "range": -2.951, "near1": -2.881, "near2": -2.767, "near5": -7.885, "far": -7.885, "missing": -1.062},
    "place": {"same": -0.601, "differs": -6.276, "unknown": -0.825},
    "family": {"same": -2.881, "differs": -7.885, "unknown": -0.071},
    "relative": {"same": -2.965, "differs": -7.885, "unknown": -0.066},
}  # fmt: skip
U: dict[str, dict[str, float]] = {
    "surname": {"exact": 1.0, "phonetic": 1.0, "wildcard": 1.0, "typo1": 1.0, "typo2": 1.0, "weak": 1.0},
    "name": {"exact": 0.07937, "variant": 0.01415, "initial": 0.03875, "similar": 0.02085, "missing": 0.49433, "differs": 0.35256},
    "patronymic": {"exact": 0.01285, "initial": 0.00502, "similar": 0.00303, "missing": 0.65267, "differs": 0.32643},
    "year": {"exact": 0.02015, "pattern": 0.02858, "range": 0.00679, "near1": 0.05836, "near2": 0.05742, "near5": 0.15646, "far": 0.31255, "missing": 0.35969},
    "place": {"same": 0.03241, "differs": 0.50629, "unknown": 0.46131},
    "family": {"same": 0.00291, "differs": 0.03992, "unknown": 0.95717},
    "relative": {"same": 0.0041, "differs": 0.05407, "unknown": 0.94183},
}  # fmt: skip
# fmt: on
PRIOR = 1.5
TEMPERATURE = 1.1
STRONG_CUTOFF = 0.91
