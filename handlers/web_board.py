"""The web board's case actions (claim, release, answer, close) and what the chat sees of them.

The Mini App (``bot.board``) calls these with the application's context: the same use cases as the
chat's buttons (:mod:`bot.services.cases`, so a claim from the board and one from the group race through
the same conditional ``UPDATE``), and the same chat side, from handlers/cases.py: the group's card says
who took the case, the claimer gets it privately, the relative gets the answer or the news over the Bot
API. Nothing here renders the board itself: the board gets plain data and makes its own page.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application

from bot.i18n import pick_language
from bot.services import cases, review
from bot.services.cases import Author, Change, Refusal
from bot.services.review import ReviewItem, Verdict
from handlers.cases import (
    announce_claim,
    announce_close,
    announce_release,
    answer_relative,
    lost_claim,
)
from handlers.review import tell_relative as tell_reviewed
from handlers.turn import AmanatContext

_LOGGER = logging.getLogger(__name__)

__all__ = ["BoardActions"]


class BoardActions:
    """Case actions of the web board, done as the chat does them, for one application."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.application = application

    def context(self) -> AmanatContext:
        """A callback context outside any update: the services and the bot, no turn."""
        return AmanatContext(self.application)

    async def remember(self, volunteer_id: int, first_name: str | None, language_code: str | None) -> None:
        """Keep the acting volunteer's first name (the group's card says who took a case) and language."""
        await cases.note_volunteer(self.context().db, volunteer_id, first_name, pick_language(language_code))

    async def claim(self, case_id: int, volunteer_id: int) -> Change | Refusal:
        context = self.context()
        result = await cases.claim(context.db, case_id, volunteer_id)
        if isinstance(result, Refusal):
            _LOGGER.info("case %s: claim by %s from the web board lost (%s)", case_id, volunteer_id, result)
            await lost_claim(context, case_id)
            return result
        _LOGGER.info("case %s claimed by %s on the web board", case_id, volunteer_id)
        await announce_claim(context, result.case, volunteer_id)
        return result

    async def release(self, case_id: int, volunteer_id: int) -> Change | Refusal:
        context = self.context()
        result = await cases.release(context.db, case_id, volunteer_id)
        if not isinstance(result, Refusal):
            _LOGGER.info("case %s released by %s on the web board", case_id, volunteer_id)
            await announce_release(context, result.case)
        return result

    async def close(self, case_id: int, volunteer_id: int, note: str | None) -> Change | Refusal:
        context = self.context()
        result = await cases.close(context.db, case_id, volunteer_id, note)
        if not isinstance(result, Refusal):
            _LOGGER.info("case %s closed by %s on the web board", case_id, volunteer_id)
            await announce_close(context, result.case)
        return result

    async def answer(self, case_id: int, volunteer_id: int, text: str) -> tuple[Change | Refusal, bool]:
        """The volunteer's text to the relative; (the result, whether the relative got it)."""
        context = self.context()
        result = await cases.add_message(context.db, case_id, Author.VOLUNTEER, volunteer_id, text)
        if isinstance(result, Refusal):
            return result, False
        delivered = await answer_relative(context, result.case, text)
        _LOGGER.info("case %s answered by %s on the web board", case_id, volunteer_id)
        return result, delivered

    async def review(self, match_id: int, verdict: Verdict, reviewer_id: int) -> ReviewItem | None:
        """A verdict on a pair of the review queue, as /review stores it; "likely" tells the relative once.
        None: the pair had been decided already (by someone else, at the same instant too)."""
        context = self.context()
        item = await review.decide(context.db, match_id, verdict, reviewer_id)
        if item is not None:
            _LOGGER.info("match %s reviewed by %s on the web board: %s", match_id, reviewer_id, verdict.value)
            if verdict == Verdict.LIKELY:
                await tell_reviewed(context, item)
        return item
