"""Declined names back to the nominative: "ищу Легкодымова Емельяна" → легкодымов, емельян.

pymorphy3 knows Russian names, patronymics and surname paradigms (and guesses unknown surnames by
analogy); a few suffix rules cover what it misses, chiefly Kazakh names. Results are cached per word:
a registry repeats its names, and pymorphy parses about 10,000 words a second.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["nominative_forms"]

_SURNAME_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ского", "ский"),
    ("цкого", "цкий"),
    ("ской", "ский"),
    ("овым", "ов"),
    ("евым", "ев"),
    ("иным", "ин"),
    ("ыным", "ын"),
    ("ова", "ов"),
    ("ева", "ев"),
    ("ёва", "ёв"),
    ("ина", "ин"),
    ("ына", "ын"),
    ("ову", "ов"),
    ("еву", "ев"),
    ("ину", "ин"),
    ("ове", "ов"),
    ("еве", "ев"),
    ("овича", "ович"),
    ("евича", "евич"),
    ("ичем", "ич"),
    ("ичу", "ич"),
)
# Words already ending like a masculine nominative name are left alone ("легкодымов" is not a plural).
_NOMINATIVE_ENDINGS = (
    "ов",
    "ев",
    "ёв",
    "ин",
    "ын",
    "ий",
    "ой",
    "ко",
    "ич",
    "ук",
    "юк",
    "их",
    "ых",
    "ан",
    "ян",
)
_CYRILLIC_WORD = re.compile(r"^[а-яёәғқңөұүһі-]{3,}$")
_MORPH: Any = None
_MORPH_FAILED = False


def _analyzer() -> Any:
    global _MORPH, _MORPH_FAILED
    if _MORPH is None and not _MORPH_FAILED:
        try:
            import pymorphy3

            _MORPH = pymorphy3.MorphAnalyzer()
        except Exception:  # the engine still works on suffix rules alone
            _MORPH_FAILED = True
    return _MORPH


@lru_cache(maxsize=100_000)
def nominative_forms(word: str) -> tuple[str, ...]:
    """Masculine nominative forms a (lower-case, Cyrillic) declined name may come from; may be empty."""
    word = word.lower().strip()
    if not _CYRILLIC_WORD.match(word):
        return ()
    if word.endswith(_NOMINATIVE_ENDINGS):
        return ()
    found: list[str] = []
    morph = _analyzer()
    if morph is not None:
        for parse in morph.parse(word)[:6]:
            tag = parse.tag
            if "NOUN" not in tag and "ADJF" not in tag:
                continue
            if (
                not ({"Surn", "Name", "Patr"} & set(str(tag).replace(" ", ",").split(",")))
                and parse.score < 0.2
            ):
                continue
            if "femn" in tag and "ms-f" not in tag:
                continue
            lemma = parse.normal_form
            if lemma != word and lemma not in found:
                found.append(lemma)
    for suffix, replacement in _SURNAME_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            lemma = word[: -len(suffix)] + replacement
            if lemma not in found:
                found.append(lemma)
            break
    return tuple(found[:3])
