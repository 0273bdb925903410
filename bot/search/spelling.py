"""Spelling folds: any script and spelling of a name into one Cyrillic key space, and a phonetic skeleton.

A relative types ``Lekhkodymov``, ``Құсайынов`` or ``Kusaiynov``; a clerk wrote ``Легкодымов`` or
``Кусаинов`` by ear in 1941. Two layers bring them together:

* :func:`fold_variants` — lower case, Latin → Cyrillic by a greedy longest-match table over the common
  transliteration schemes (with alternatives for ambiguous letters such as ``j`` and ``h``), today's
  Kazakh and Ukrainian letters folded to Russian ones, and letters a clerk or a scheme confuses (й/ы/и,
  ё/э/е, я/а, ю/у, щ/ш, дж/ж, ъ/ь) merged. Edit distance is measured in this space.
* :func:`skeleton` — a consonant skeleton of the fold with voiced/voiceless pairs merged (г/к/х, б/п,
  д/т, з/с/ц, ж/ш/ч, в/ф) and vowels dropped; the blocking keys are built from it.

Wildcards of the reading notation survive both layers: ``?`` (one lost letter) and ``*`` (a lost run).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

__all__ = [
    "deletion_neighbours",
    "fold",
    "fold_variants",
    "has_kazakh_letters",
    "is_latin",
    "regional_variants",
    "skeleton",
    "wildcard_fits",
    "wildcard_pattern",
]

# Letters of today's Kazakh, Ukrainian and Belarusian alphabets, folded to the Russian letter a
# clerk of 1941 would have written, then the merges that make spelling by ear and by scheme agree.
_CYRILLIC_FOLD = str.maketrans(
    {
        "ә": "а",
        "ғ": "г",
        "қ": "к",
        "ң": "н",
        "ө": "о",
        "ұ": "у",
        "ү": "у",
        "һ": "х",
        # Tajik: ҳ, ҷ, ӣ, ӯ (қ and ғ as in Kazakh)
        "ҳ": "х",
        "ҷ": "дж",
        "ӣ": "и",
        "ӯ": "у",
        "і": "и",
        "ї": "и",
        "є": "е",
        "ґ": "г",
        "ў": "в",
        "ё": "е",
        "э": "е",
        "й": "и",
        "ы": "и",
        "ю": "у",
        "я": "а",
        "щ": "ш",
        "ъ": None,
        "ь": None,
    }
)
_KAZAKH_LETTERS = frozenset("әғқңөұүһі")

# Latin → Cyrillic, longest match first. Each entry lists the readings to try (the first is the likeliest).
_LATIN: dict[str, tuple[str, ...]] = {
    "chtch": ("щ",),
    "shch": ("щ",),
    "šč": ("щ",),
    "dzh": ("дж",),
    "tch": ("ч",),
    "sch": ("щ", "ш"),
    "shh": ("щ",),
    "zh": ("ж",),
    "kh": ("х",),
    "ch": ("ч", "ш"),
    "ou": ("у",),
    "jou": ("жу", "ю"),
    "iou": ("ю",),
    "sh": ("ш",),
    "ts": ("ц", "тс"),
    "tc": ("ц",),
    "tz": ("ц",),
    "dj": ("дж",),
    "gh": ("г",),
    "ph": ("ф",),
    "th": ("т",),
    "ck": ("к",),
    "ya": ("я",),
    "ia": ("я", "иа"),
    "ja": ("я", "жа"),
    "yu": ("ю",),
    "iu": ("ю", "иу"),
    "ju": ("ю", "жу"),
    "ye": ("е",),
    "je": ("е", "же"),
    "yo": ("ё",),
    "jo": ("ё", "жо"),
    "ie": ("ие", "е"),
    "x": ("кс", "х"),
    "w": ("в",),
    "q": ("к",),
    "c": ("ц", "к"),
    "j": ("й", "ж"),
    "h": ("х", "г"),
    "y": ("ы",),
    "a": ("а",),
    "b": ("б",),
    "d": ("д",),
    "e": ("е",),
    "f": ("ф",),
    "g": ("г",),
    "i": ("и",),
    "k": ("к",),
    "l": ("л",),
    "m": ("м",),
    "n": ("н",),
    "o": ("о",),
    "p": ("п",),
    "r": ("р",),
    "s": ("с",),
    "t": ("т",),
    "u": ("у",),
    "v": ("в",),
    "z": ("з",),
    # Kazakh 2021 Latin and the diacritics of scholarly schemes (ISO 9, ALA-LC, Czech-style).
    "ä": ("а",),
    "ğ": ("г",),
    "ñ": ("н",),
    "ö": ("о",),
    "ū": ("у",),
    "ü": ("у",),
    "ş": ("ш",),
    "ı": ("ы",),
    "ç": ("ч",),
    "č": ("ч",),
    "š": ("ш",),
    "ž": ("ж",),
    "ŝ": ("щ",),
    "û": ("ю",),
    "â": ("я",),
    "é": ("е",),
    "è": ("э",),
    "ê": ("е",),
    "ë": ("ё",),
    "ė": ("е",),
    "ì": ("и",),
    "í": ("и",),
    "ý": ("й",),
    "ŷ": ("й",),
    "ǵ": ("г",),
    "ḱ": ("к",),
    "ń": ("н",),
    "ó": ("о",),
    "ú": ("у",),
    "ā": ("а",),
    "ī": ("и",),
    "ĭ": ("й",),  # ALA-LC (Library of Congress): Сергей as Sergeĭ
    "ō": ("о",),
    "ȳ": ("ы",),
    # Uzbek Latin: oʻ and gʻ (written with any apostrophe; see _prepare), x is х.
    "ŏ": ("у", "о"),
    "yŏ": ("ю", "йо"),
    "xŏ": ("ху", "хо"),
    "ğ'": ("г",),
    "xo": ("хо", "ксо"),
    "xa": ("ха", "кса"),
    "xu": ("ху", "ксу"),
    "xi": ("хи", "кси"),
    # Turkmen Latin: ý before a vowel is the iotated vowel (Annaýew: Аннаев), ň is н.
    "ýe": ("е", "йе"),
    "ýa": ("я", "йа"),
    "ýu": ("ю",),
    "ýo": ("ё",),
    "ň": ("н",),
}
_LATIN_MAX = max(len(k) for k in _LATIN)
_LATIN_LETTER = re.compile(r"[a-zäğñöūüşıçčšžŝûâéèêëėìíýŷǵḱńóúāīĭōŏň]")
_APOSTROPHES = re.compile(r"['’ʹʺ`´ʼʻ‘\"]")
# Uzbek oʻ and gʻ, with whatever apostrophe the keyboard gives (Xoʻjayev, Yo'ldoshev, G`afurov).
_UZBEK_O = re.compile(r"o['’ʻ‘`ʼ]")
_UZBEK_G = re.compile(r"g['’ʻ‘`ʼ]")
_NOT_NAME = re.compile(r"[^а-я?*]")
_REPEATS = re.compile(r"([а-я])\1+")
_MAX_VARIANTS = 6
_MAX_AMBIGUOUS = 6  # ambiguous Latin letters whose alternatives are tried (the rest take the likeliest)
_MAX_LENGTH = 80  # a name longer than this is not a name; the rest is ignored

# Consonant classes of the skeleton; vowels drop out. A word that starts with a vowel keeps "a".
_SKELETON_CLASS = str.maketrans(
    {
        "б": "p",
        "п": "p",
        "в": "v",
        "ф": "v",
        "г": "k",
        "к": "k",
        "х": "k",
        "д": "t",
        "т": "t",
        "ж": "j",
        "ш": "j",
        "ч": "j",
        "з": "s",
        "с": "s",
        "ц": "s",
        "л": "l",
        "м": "m",
        "н": "n",
        "р": "r",
        "а": None,
        "е": None,
        "и": None,
        "о": None,
        "у": None,
        "?": None,
    }
)
_VOWELS = frozenset("аеиоу")


def is_latin(text: str) -> bool:
    """True when the text is written (at least partly) in Latin letters."""
    return bool(_LATIN_LETTER.search(text.lower()))


def has_kazakh_letters(text: str) -> bool:
    """True when the text uses letters of today's Kazakh alphabet (ә ғ қ ң ө ұ ү һ і)."""
    return any(c in _KAZAKH_LETTERS for c in text.lower())


def _latin_options(text: str) -> list[list[str]]:
    """Splits ``text`` greedily into Latin digraphs/letters; each piece lists its Cyrillic readings."""
    pieces: list[list[str]] = []
    i = 0
    while i < len(text):
        for size in range(min(_LATIN_MAX, len(text) - i), 0, -1):
            chunk = text[i : i + size]
            options = _LATIN.get(chunk)
            if options is not None:
                pieces.append(list(options))
                i += size
                break
        else:
            pieces.append([text[i]])
            i += 1
    return pieces


def _finish(text: str) -> str:
    """The Cyrillic merges shared by every variant."""
    text = _NOT_NAME.sub("", text.translate(_CYRILLIC_FOLD))
    while True:  # until stable, so that folding a folded name changes nothing
        merged = text.replace("дж", "ж").replace("нб", "мб").replace("тс", "ц")
        merged = re.sub(r"\*+", "*", _REPEATS.sub(r"\1", merged))
        if merged == text:
            return text
        text = merged


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    text = text.replace("…", "*").replace("...", "*")
    text = text.replace("\u0361", "").replace("\u0360", "")  # the tie of ALA-LC "i͡a"
    if "o" in text or "g" in text:
        text = _UZBEK_G.sub("ğ", _UZBEK_O.sub("ŏ", text))
    return _APOSTROPHES.sub("", text)


@lru_cache(maxsize=200_000)
def fold_variants(text: str) -> tuple[str, ...]:
    """Every plausible folded Cyrillic reading of ``text`` (one for Cyrillic text; a few for Latin)."""
    text = _prepare(text[:_MAX_LENGTH])
    if not is_latin(text):
        folded = _finish(text)
        return (folded,) if folded else ()
    pieces = _latin_options(text)
    ambiguous = [i for i, options in enumerate(pieces) if len(options) > 1]
    variants: list[str] = []
    # The likeliest reading first, then single substitutions, then pairs, within the cap.
    ambiguous = ambiguous[:_MAX_AMBIGUOUS]
    choices: list[dict[int, int]] = [{}]
    choices += [{i: k} for i in ambiguous for k in range(1, len(pieces[i]))]
    choices += [{i: 1, j: 1} for i, j in itertools.combinations(ambiguous, 2)]
    for choice in choices:
        cyrillic = "".join(options[choice.get(i, 0)] for i, options in enumerate(pieces))
        folded = _finish(cyrillic)
        if folded and folded not in variants:
            variants.append(folded)
        if len(variants) >= _MAX_VARIANTS:
            break
    return tuple(variants)


# Tajik surnames today: -зода for the -заде of the registry or for the Russian -ов/-ев it replaced
# (Раҳимзода: Рахимзаде, Рахимов), or the bare stem (Раҳмон: Рахмонов, Нуралӣ: Нуралиев).
_TAJIK_LETTERS = frozenset("ҳҷӣӯ")
_ZODA = re.compile(r"(?:зода|заде|зада|zoda|zade)$")


@lru_cache(maxsize=50_000)
def regional_variants(text: str) -> tuple[str, ...]:
    """Folded forms of a surname a relative types in today's Central Asian spelling that the registry's
    Russified Cyrillic of 1941 would have (none for other text)."""
    lower = _prepare(text[:_MAX_LENGTH]).strip()
    found: list[str] = []
    stem_match = _ZODA.search(lower)
    if stem_match is not None and stem_match.start() >= 3:
        for stem in fold_variants(lower[: stem_match.start()])[:2]:
            found += [stem + "заде", stem + ("ев" if stem[-1:] in "аеиоу" else "ов")]
    elif _TAJIK_LETTERS & set(lower) and not lower.endswith(("ов", "ев", "ова", "ева")):
        for stem in fold_variants(lower)[:1]:
            found.append(stem + ("ов" if stem[-1:] not in "аеиоу" else "ев"))
    return tuple(dict.fromkeys(f for f in found if f))


def fold(text: str) -> str:
    """The likeliest folded Cyrillic reading of ``text`` ('' when nothing is left)."""
    variants = fold_variants(text)
    return variants[0] if variants else ""


@lru_cache(maxsize=200_000)
def skeleton(folded: str) -> str:
    """The consonant skeleton of a folded name (``легкодимов`` → ``lktmv``); wildcards dropped."""
    if not folded:
        return ""
    head = "a" if folded[0] in _VOWELS else ""
    body = folded.replace("*", "").translate(_SKELETON_CLASS)
    return _collapse(head + body)


def _collapse(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def deletion_neighbours(key: str, min_length: int = 3) -> set[str]:
    """The key and every key one deletion away from it that keeps at least ``min_length`` characters."""
    found = {key}
    if len(key) - 1 >= min_length:
        for i in range(len(key)):
            found.add(_collapse(key[:i] + key[i + 1 :]))
    return found


@lru_cache(maxsize=500_000)
def _wildcard_shape(reading: str) -> tuple[str, str, int, int] | None:
    """The letters before a reading's first wildcard and after its last, and the shortest and longest
    query it can fit (-1: any length, for ``*``); None without a wildcard."""
    cuts = [i for i, ch in enumerate(reading) if ch in "?*"]
    if not cuts:
        return None
    unread = reading.count("?")
    stars = reading.count("*")
    known = len(reading) - unread - stars
    return reading[: cuts[0]], reading[cuts[-1] + 1 :], known, -1 if stars else known + unread


def wildcard_fits(reading: str, query: str) -> bool:
    """True when a folded reading with ``?``/``*`` fits a folded query letter for letter (its
    :func:`wildcard_pattern` matches the whole query). The letters before the first wildcard and after
    the last, and the length, settle most pairs without a regular expression: a registry holds more
    damaged readings than any cache of compiled patterns."""
    shape = _wildcard_shape(reading)
    if shape is None:
        return False
    head, tail, shortest, longest = shape
    if len(query) < shortest or (longest >= 0 and len(query) > longest):
        return False
    if not query.startswith(head) or not query.endswith(tail):
        return False
    pattern = wildcard_pattern(reading)
    return pattern is not None and pattern.fullmatch(query) is not None


@lru_cache(maxsize=50_000)
def wildcard_pattern(folded: str) -> re.Pattern[str] | None:
    """A regular expression for a folded reading with ``?``/``*``; None when it has no wildcard."""
    if "?" not in folded and "*" not in folded:
        return None
    parts = []
    for ch in folded:
        if ch == "?":
            parts.append(".?")  # a lost letter may have been a й/ь that the fold drops
        elif ch == "*":
            parts.append(".*")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts))
