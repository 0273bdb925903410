"""/review on the Telegram side: volunteers look at unannounced matches one at a time (bot.services.review).

A volunteer sends ``/review`` in their private chat and sees the most likely pair still waiting: the
saved search as the relative wrote it beside the reading, the engine's score and reasons, and three
buttons. "Likely him" tells the relative, in their language, that a volunteer checked this record (once:
the verdict is stored before the message is sent, and only the first verdict counts), with the record
one tap away and "ask a volunteer"; "not him" hides the pair for good; "skip" shows the next one. The
message is redrawn in place with the next pair.

Button data: ``rv:<l|n|s>:<match id>`` (:class:`handlers.buttons.ReviewDecision`); anything else under
``rv:`` is refused.
"""

from __future__ import annotations

import enum
import logging
from typing import Any, Final

from markupsafe import Markup
from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import Translator
from bot.services import cases, review
from bot.services.review import ReviewItem, Verdict
from handlers import buttons
from handlers.case_views import Act, clip, soldier_line
from handlers.cases import CASES_GROUP, language
from handlers.notifications import StoredReason
from handlers.steps import entry
from handlers.turn import AmanatContext, ButtonRows, State, html_lines, keyboard

_LOGGER = logging.getLogger(__name__)

PATTERN: Final = r"^rv:"
MAX_REASONS: Final = 8


class Decision(enum.StrEnum):
    """What a review button says (:class:`handlers.buttons.ReviewDecision`)."""

    LIKELY = "l"
    NOT = "n"
    SKIP = "s"


def reason_text(t: Translator, reason: Any) -> str:
    """A stored reason ([code, args]) in words; an unknown code reads as a neutral phrase."""
    try:
        code, args = reason
        stored = StoredReason(str(code), dict(args or {}))
        if t.has(f"reason.{stored.code}"):
            return str(t.reason(stored))
    except (KeyError, TypeError, ValueError):
        pass
    return str(t("reason.other"))


def reading_line(t: Translator, item: ReviewItem) -> Markup:
    reading = item.reading
    who = " ".join(p for p in (reading.surname, reading.name, reading.patronymic) if p)
    return t(
        "review.reading",
        id=clip(reading.reading_id, 60),
        who=clip(who, 200),
        born=clip(reading.birth_year or "?", 20),
        place=clip(reading.birthplace or "?", 200),
    )


def review_text(t: Translator, item: ReviewItem, waiting: int) -> Markup:
    """One pair side by side: the search, the reading, where it was found, the score and the reasons."""
    search = item.search
    reading = item.reading
    lines: list[str | None] = [
        t("review.title", score=round(item.score), waiting=waiting),
        "",
        t("review.search_head"),
        soldier_line(t, search),
        t("review.family", relative=search.get("relative") or "—", place=search.get("family_place") or "—")
        if search.get("relative") or search.get("family_place")
        else None,
        "",
        t("review.reading_head"),
        reading_line(t, item),
        t(
            "review.reading_family",
            relative=clip(reading.relative, 200),
            place=clip(reading.family_address or "—", 200),
        )
        if reading.relative
        else None,
        t(
            "review.found",
            place=clip(reading.found_place or "?", 200),
            date=clip(reading.found_date or "?", 40),
        )
        if reading.found_place or reading.found_date
        else None,
        "",
        t("review.why"),
        *(Markup("• " + reason_text(t, reason)) for reason in item.reasons[:MAX_REASONS]),
    ]
    return html_lines(*lines)


def review_rows(t: Translator, item: ReviewItem) -> ButtonRows:
    return [
        [
            (
                t.plain("review.button.likely"),
                buttons.ReviewDecision(Decision.LIKELY, item.match_id).encode(),
            ),
            (t.plain("review.button.not"), buttons.ReviewDecision(Decision.NOT, item.match_id).encode()),
        ],
        [(t.plain("review.button.skip"), buttons.ReviewDecision(Decision.SKIP, item.match_id).encode())],
    ]


async def show_next(context: AmanatContext, after: int | None, edit_message_id: int | None) -> None:
    turn = context.turn
    item, waiting = await review.next_item(context.db, after)
    rows: ButtonRows
    if item is None:
        text, rows = turn.t("review.empty" if after is None else "review.end"), ()
    else:
        text, rows = review_text(turn.t, item, waiting), review_rows(turn.t, item)
    if edit_message_id is not None:
        turn.edit(edit_message_id, text, rows)
    else:
        turn.say(text, rows)


async def review_command(update: Update, context: AmanatContext) -> State:
    """/review: the most likely unannounced match, for volunteers."""
    turn = context.turn
    if not await cases.is_volunteer(context.db, context.services.settings.roles, turn.user_id):
        _LOGGER.warning("/review from user %s refused: not a volunteer", turn.user_id)
        turn.say(turn.t("case.volunteers_only"))
        return turn.state
    await show_next(context, None, None)
    return turn.state


async def press(update: Update, context: AmanatContext) -> State:
    """A review button: decide (or skip), then the next pair in place."""
    turn = context.turn
    query = update.callback_query
    pressed = buttons.ReviewDecision.decode(query.data if query is not None else None)
    if pressed is None:
        _LOGGER.warning("forged review button from user %s refused", turn.user_id)
        turn.toast = turn.t.plain("button.unknown")
        return turn.state
    if not await cases.is_volunteer(context.db, context.services.settings.roles, turn.user_id):
        _LOGGER.warning("review button from user %s refused: not a volunteer", turn.user_id)
        turn.toast = turn.t.plain("case.volunteers_only")
        return turn.state
    message = update.effective_message
    message_id = message.message_id if message is not None and message.message_id else None
    if pressed.decision != Decision.SKIP:
        verdict = Verdict.LIKELY if pressed.decision == Decision.LIKELY else Verdict.NOT
        item = await review.decide(context.db, pressed.match_id, verdict, turn.user_id)
        if item is None:
            turn.toast = turn.t.plain("review.already")
        else:
            _LOGGER.info("match %s reviewed by %s: %s", item.match_id, turn.user_id, verdict.value)
            turn.toast = turn.t.plain("review.sent" if verdict == Verdict.LIKELY else "review.hidden")
            if verdict == Verdict.LIKELY:
                await tell_relative(context, item)
    await show_next(context, pressed.match_id, message_id)
    return turn.state


async def tell_relative(context: AmanatContext, item: ReviewItem) -> None:
    """The relative learns that a volunteer checked this record (sent once: the verdict was stored first)."""
    t = await language(context, item.person_id)
    reading = item.reading
    who = " ".join(p for p in (reading.surname, reading.name, reading.patronymic) if p)
    lines: list[str | None] = [
        t("review.notify.title", search=soldier_line(t, item.search)),
        "",
        t("review.notify.who", who=clip(who, 200), born=clip(reading.birth_year or "?", 20)),
        t(
            "review.found",
            place=clip(reading.found_place or "?", 200),
            date=clip(reading.found_date or "?", 40),
        )
        if reading.found_place or reading.found_date
        else None,
        t("review.notify.unit", unit=clip(reading.search_unit, 200)) if reading.search_unit else None,
        "",
        t("review.notify.footer"),
    ]
    rows = [
        [(t.plain("notify.button.record"), buttons.NotificationRecord(item.match_id).encode())],
        [(t.plain("button.ask_volunteer"), buttons.CaseButton(Act.ASK_MATCH, item.match_id).encode())],
    ]
    try:
        await context.bot.send_message(item.person_id, html_lines(*lines), reply_markup=keyboard(rows))
    except Forbidden:
        _LOGGER.info("match %s: the relative blocked the bot", item.match_id)
        await cases.relative_blocked(context.db, item.person_id)
    except BadRequest as error:
        _LOGGER.warning("match %s: the relative was not told (%s)", item.match_id, type(error).__name__)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """/review and its buttons, in the cases' group (before the dialogue; a handled update stops)."""

    on_command = entry(review_command, needs_consent=False, final=True)
    on_button = entry(press, needs_consent=False, final=True)

    application.add_handler(
        CommandHandler("review", on_command, filters=filters.ChatType.PRIVATE), CASES_GROUP
    )
    application.add_handler(CallbackQueryHandler(on_button, pattern=PATTERN), CASES_GROUP)
