"""The memory book's messages built at run time (states, consents, refusals, the site's field names,
the command line's error codes) exist in every language."""

from __future__ import annotations

import pytest

from bot.i18n import LANGUAGES, translator
from bot.services.stories import READING_FIELDS
from bot.services.story_files import Refused
from models import StoryConsent, StoryState

BUILT = [
    *(f"story.state.{state.value}" for state in StoryState),
    "story.state.withdrawn",
    *(f"story.consent.{consent.value}" for consent in StoryConsent),
    "story.consent.none",
    *(f"story.refused.{code.value}" for code in Refused),
    *(f"exhibition.field.{field}" for field in READING_FIELDS),
    *(f"exhibition.field.{field}" for field in ("birth_year", "birthplace", "soldier")),
    *(f"cli.exhibition.error.{code}" for code in ("out_file", "not_empty", "no_parent")),
    *(f"cli.export_stories.error.{code}" for code in ("out_file", "no_parent", "state_damaged")),
]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_built_at_run_time_is_translated(lang: str) -> None:
    t = translator(lang)
    missing = [key for key in BUILT if not t.has(key)]
    assert not missing, missing
