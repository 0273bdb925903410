"""Comparators: the agreement category of one field of a query against the same field of a reading.

Surnames (exact, phonetic, wildcard-aligned, one or two edits, weak), first names (exact, variant,
initial, similar, differs), patronymics, birth years (exact, range, pattern, near, far), places (the same
place or region after historical renamings, a similar word, or two districts of one
region) and the relative's name.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz.distance import OSA, Levenshtein

from bot.search.gazetteer import PlaceProfile, place_region, same_place
from bot.search.names import name_group, patronymic_stem
from bot.search.notation import YearReading
from bot.search.profiles import NameForms
from bot.search.spelling import is_latin, skeleton, wildcard_fits

# The same consonant skeleton is "phonetic" only when the letters are this similar too (the best of the
# query's forms): a skeleton drops vowels and doubled letters, so Сезолов would sound like Соловева.
PHONETIC_SIMILARITY = 0.6
# How alike two surnames' letters are: a swapped pair of letters (Жээнбкеов) is one slip, as a wrong
# letter is (optimal string alignment); the bulk passes over many surnames use the same scorer.
surname_similarity = OSA.normalized_similarity
_SURNAME_RANK = {"exact": 0, "phonetic": 1, "wildcard": 2, "typo1": 3, "typo2": 4, "weak": 5}


def _damaged_similarity(qf: str, rf: str) -> float:
    """How well a damaged reading's known letters fit the query's where they stand.

    A lost start or end (``*тникоб``, ``кор*``): the known letters against the same end of the query's
    (a length apart at most), so ``...тникоб`` is one letter from ``плотников``, not five. Lost letters
    and a misread first letter (``в??еихан?в``): the rest against the query's rest, ``?`` any letter.
    """
    if rf.count("*") == 1 and (rf.startswith("*") or rf.endswith("*")):
        known = rf.strip("*")
        if len(known) < 4 or "?" in known:
            return 0.0
        lengths = [n for n in (len(known) - 1, len(known), len(known) + 1) if 0 < n <= len(qf)]
        if rf.startswith("*"):
            best = max((Levenshtein.normalized_similarity(known, qf[-n:]) for n in lengths), default=0.0)
        else:
            best = max((Levenshtein.normalized_similarity(known, qf[:n]) for n in lengths), default=0.0)
        return best if best >= 0.75 else 0.0  # one letter in four at most
    if (
        "*" not in rf
        and len(rf) == len(qf) >= 5
        and all(a in (b, "?") for a, b in zip(rf[1:], qf[1:], strict=True))
    ):
        return 0.8  # the first letter misread, the others fit
    return 0.0


def _best_similarity(q: NameForms, rf: str) -> float:
    return max(surname_similarity(qf, rf) for qf in q.all_forms)


def compare_surnames(q: NameForms, r: NameForms) -> tuple[str, bool]:
    """(category, the match came from a declined form) for two surnames."""
    best, best_declined = "weak", False
    declined_start = len(q.forms)
    for i, qf in enumerate(q.all_forms):
        declined = i >= declined_start
        q_key = skeleton(qf)
        for rf in r.forms:
            if qf == rf:
                return "exact", declined
            if r.wild:
                if wildcard_fits(rf, qf):
                    category = "wildcard"
                else:
                    similarity = max(
                        surname_similarity(qf, rf.replace("*", "")),
                        _damaged_similarity(qf, rf),
                    )
                    category = "typo1" if similarity >= 0.8 else "typo2" if similarity >= 0.6 else "weak"
            elif q_key == skeleton(rf) and _best_similarity(q, rf) >= PHONETIC_SIMILARITY:
                category = "phonetic"
            else:
                similarity = surname_similarity(qf, rf)
                category = "typo1" if similarity >= 0.8 else "typo2" if similarity >= 0.65 else "weak"
            if _SURNAME_RANK[category] < _SURNAME_RANK[best]:
                best, best_declined = category, declined
    return best, best_declined


# Two first names or patronymics this alike are "similar" (a swapped pair of letters counts as one slip).
_NAME_SIMILARITY = 0.75


def _name_similarity(qf: str, rf: str) -> float:
    """How alike a query's name is to a reading's; each unread letter (``?``) of the reading is free."""
    if "?" not in rf and "*" not in rf:
        return OSA.normalized_similarity(qf, rf)
    known = rf.replace("*", "")
    longest = max(len(qf), len(known))
    return 1.0 - max(0, OSA.distance(qf, known) - known.count("?")) / longest if longest else 0.0


def _damaged_fits(qf: str, rf: str) -> bool:
    """A damaged reading of a name fits the query's: letter for letter where read, or one slip apart."""
    return wildcard_fits(rf, qf) or _name_similarity(qf, rf) >= _NAME_SIMILARITY


@lru_cache(maxsize=100_000)  # by identity: a reading's forms live as long as the registry
def _as_written(forms: NameForms) -> tuple[str, ...]:
    """A Cyrillic name as written, only lowercased: folding merges letters (ы, й and и; doubled letters),
    so that one slip in Василий can leave two letters' difference between the folded forms."""
    return tuple(a.lower().replace("ё", "е") for a in forms.alternatives if not is_latin(a))


def _similar_as_written(q: NameForms, r: NameForms) -> bool:
    return any(_name_similarity(qa, ra) >= _NAME_SIMILARITY for qa in _as_written(q) for ra in _as_written(r))


def compare_names(q: NameForms | None, r: NameForms | None) -> str:
    """The agreement category of two first names."""
    if q is None or r is None:
        return "missing"
    best = "differs"
    for qf in q.all_forms:
        for rf in r.forms:
            if q.initial or r.initial:
                if qf[:1] == rf[:1] or name_group(qf)[:1] == name_group(rf)[:1]:
                    return "initial"
                continue
            if qf == rf:
                return "exact"
            if r.wild:
                if _damaged_fits(qf, rf):
                    best = "similar"
                continue
            if name_group(qf) == name_group(rf):
                best = "variant"
            elif best == "differs" and _name_similarity(qf, rf) >= _NAME_SIMILARITY:
                best = "similar"
    if best == "differs" and not (q.initial or r.initial) and _similar_as_written(q, r):
        best = "similar"
    return best


def compare_patronymics(q: NameForms | None, r: NameForms | None) -> str:
    """The agreement category of two patronymics (compared by the father's name they come from)."""
    if q is None or r is None:
        return "missing"
    best = "differs"
    for qf in q.all_forms:
        for rf in r.forms:
            if q.initial or r.initial:
                if qf[:1] == rf[:1]:
                    return "initial"
                continue
            if qf == rf or patronymic_stem(qf) == patronymic_stem(rf):
                return "exact"
            if r.wild:
                if _damaged_fits(qf, rf):
                    best = "similar"
                continue
            if _name_similarity(qf, rf) >= _NAME_SIMILARITY:
                best = "similar"
    if best == "differs" and not (q.initial or r.initial) and _similar_as_written(q, r):
        best = "similar"
    return best


@lru_cache(maxsize=20_000)
def _years(reading: YearReading) -> range | list[int]:
    low, high = reading.low or 0, reading.high or 0
    if reading.pattern is None:
        return range(low, high + 1)
    return [y for y in range(max(low, 1850), min(high, 1950) + 1) if reading.allows(y)]


@lru_cache(maxsize=50_000)
def compare_years(q: YearReading | None, r: YearReading | None) -> tuple[str, int]:
    """(category, distance in years) of two year readings."""
    if q is None or r is None or q.low is None or r.low is None or q.high is None or r.high is None:
        return "missing", 0
    if r.pattern is None and q.pattern is None:
        if q.high < r.low:
            distance = r.low - q.high
        elif r.high < q.low:
            distance = q.low - r.high
        else:
            exact = q.low == q.high == r.low == r.high
            return ("exact" if exact else "range"), 0
    else:
        q_years, r_years = _years(q), _years(r)
        if not q_years or not r_years:
            return "missing", 0
        if set(q_years) & set(r_years):
            return "pattern", 0
        distance = min(abs(a - b) for a in (q_years[0], q_years[-1]) for b in r_years)
    if distance == 1:
        return "near1", 1
    if distance == 2:
        return "near2", 2
    if distance <= 5:
        return "near5", distance
    return "far", distance


def compare_places(q: PlaceProfile | None, r: PlaceProfile | None) -> tuple[str, tuple[str, str] | None]:
    """(category, (record's wording, query's wording) of the shared place, region or village).

    ``same``: the same district, town or village, or the same region where one side names no place
    within it; ``partial``: two different places within one region (two districts of one oblast, two
    villages); ``differs``: different regions.
    """
    if q is None or r is None:
        return "unknown", None
    for q_key, q_word in q.places:
        for r_key, r_word in r.places:
            if same_place(q_key, r_key):
                return "same", (r_word, q_word)
    for q_word in q.words:
        for r_word in r.words:
            if len(q_word) >= 5 and Levenshtein.normalized_similarity(q_word, r_word) >= 0.85:
                return "same", (r_word, q_word)
    for q_region, q_word in q.regions:
        for r_region, r_word in r.regions:
            if q_region == r_region:
                q_in = [w for key, w in q.places if place_region(key) == q_region]
                r_in = [w for key, w in r.places if place_region(key) == q_region]
                if q_in and r_in:
                    return "partial", (r_in[0], q_in[0])
                if q.words and r.words:  # two villages (a district the gazetteer does not know may be
                    return "partial", (r_word, q_word)  # an old name of a known one: not compared)
                return "same", (r_word, q_word)
    if q.regions and r.regions:
        return "differs", (r.regions[0][1], q.regions[0][1])
    return "unknown", None


def compare_relatives(q: tuple[str, ...], r: tuple[str, ...]) -> str:
    """The agreement category of the relative's name as the query and the insert give it."""
    if not q or not r:
        return "unknown"
    for qw in q:
        for rw in r:
            if qw == rw or (len(qw) >= 4 and Levenshtein.normalized_similarity(qw, rw) >= 0.8):
                return "same"
            if name_group(qw) == name_group(rw) and len(qw) >= 3:
                return "same"
    return "differs"
