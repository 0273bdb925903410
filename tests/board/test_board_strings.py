"""Every message the page asks for (``S("board.…")`` in board.js, and the keys it builds from statuses,
filters, tabs, fields and error codes) is in the catalogs of every language, and the page is served
with the strings of each."""

from __future__ import annotations

import re

import pytest

from bot.board.api import STATIC_DIR, board_strings
from bot.i18n import LANGUAGES
from bot.services.cases import BoardFilter, Refusal
from models import CaseStatus, StoryConsent

FIELDS = "birth_year birthplace draft_office rank found_place found_date search_unit burial_place source"
FIELDS_LIST = FIELDS.split()
BUILT = [
    *(f"board.filter.{f.value}" for f in BoardFilter),
    *(f"board.status.{s.value}" for s in CaseStatus),
    *(f"board.tab.{tab}" for tab in ("cases", "review", "stories", "stats")),
    *(f"board.story.consent.{consent.value}" for consent in StoryConsent),
    *(f"board.error.{r.value}" for r in Refusal),
    *(
        f"board.error.{code}"
        for code in ("empty", "too_long", "bad_request", "forbidden", "already", "decided", "network")
    ),
    *(f"board.field.{name}" for name in FIELDS_LIST),
    *(f"board.stats.{state}" for state in ("sent", "blocked", "failed", "left")),
]


def keys_in_the_page() -> set[str]:
    script = (STATIC_DIR / "board.js").read_text(encoding="utf-8")
    return set(re.findall(r"""["'](board\.[a-z_]+\.[a-z_]+|board\.[a-z_]+)["']""", script))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_of_the_page_is_in_the_catalog(lang: str) -> None:
    strings = board_strings(lang)
    used = keys_in_the_page() | set(BUILT)
    assert len(used) > 40
    missing = sorted(key for key in used if key not in strings)
    assert not missing, f"{lang}: {missing}"
    assert all(value.strip() for value in strings.values())
