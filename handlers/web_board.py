"""The web board's case actions (claim, release, answer, close), its review verdicts and its story
moderation (approve, decline, ask the family), and what the chat sees of them.

The Mini App (``bot.board``) calls these with the application's context: the same use cases as the
chat's buttons (:mod:`bot.services.cases`, so a claim from the board and one from the group race through
the same conditional ``UPDATE``), and the same chat side, from handlers/cases.py: the group's card says
who took the case, the claimer gets it privately, the relative gets the answer or the news over the Bot
API. Stories are decided through handlers/moderation.py's own functions, the ones /moderate calls (the
conditional decision, then the family told in their language); a question to the family opens a case
there and goes out as this board's answer in it. Nothing here renders the board itself: the board gets
plain data and makes its own page.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application

from bot.i18n import pick_language, translator
from bot.services import cases, review, stories
from bot.services.cases import Author, Change, Refusal
from bot.services.review import ReviewItem, Verdict
from handlers.cases import (
    announce_claim,
    announce_close,
    announce_release,
    answer_relative,
    lost_claim,
)
from handlers.moderation import approve_story, decline_story, open_question_case
from handlers.review import tell_relative as tell_reviewed
from handlers.stories import storage_of
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

    async def approve_story(self, story_id: int, volunteer_id: int) -> stories.StoryView | None:
        """Approve a pending story as /moderate does (the family is told); None: decided already."""
        approved = await approve_story(self.context(), story_id, volunteer_id)
        if approved is not None:
            _LOGGER.info("story %s approved on the web board", story_id)
        return approved

    async def decline_story(self, story_id: int, volunteer_id: int, reason: str) -> stories.StoryView | None:
        """Decline a pending story with the reason the family sees; None: decided already."""
        declined = await decline_story(self.context(), story_id, volunteer_id, reason)
        if declined is not None:
            _LOGGER.info("story %s declined on the web board", story_id)
        return declined

    async def ask_family(
        self, story: stories.StoryView, volunteer_id: int, question: str, language: str
    ) -> tuple[Change | Refusal, bool] | None:
        """Ask the family about their story through a case claimed by the volunteer (as /moderate does),
        the question sent as the volunteer's answer in it; None when the case could not be claimed."""
        opening = translator(language).plain("moderate.case_opening", id=story.id)
        case = await open_question_case(self.context(), story, volunteer_id, opening)
        if case is None:
            return None
        return await self.answer(case.id, volunteer_id, question)

    async def story_file(self, item: stories.ItemView) -> bytes:
        """A story's photo or PDF from the store /moderate sends it from (the directory or the bucket)."""
        return await storage_of(self.context()).read(item.path)

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
