"""/family on the Telegram side: a search unit found a man, and a volunteer looks for his family.

``/family <reading_id>`` (or ``/family`` and a description of the man: the best-fitting reading is
taken, and the ids of others that fit are named) (volunteers, private chat) lists the saved searches paired with that reading,
strongest first, anonymized (bot.services.family): what the relative wrote about the soldier, the region,
since when they search. "Contact this family" asks that relative, in their language and with the record
shown, whether they want to talk to the search unit about it; only if they agree does a case open,
claimed by the volunteer who asked. The offer is remembered in the relative's case row, so an agreement
to anything else (a forged or stale button) is refused.

Button data: ``fm:<match id>`` (:class:`handlers.buttons.ContactFamily`) for the volunteer,
``fa:<y|n>:<match id>`` (:class:`handlers.buttons.FamilyAnswer`) for the relative's answer.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from markupsafe import Markup
from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import Translator
from bot.services import cases, review
from bot.services.dialogue_state import DialogueRecord, clear_dialogue, load_dialogue, save_dialogue
from bot.services.family import FamilyCandidate, family_of, readings_described
from bot.services.registry_search import ReadingView
from bot.services.review import ReviewItem
from handlers import buttons
from handlers.case_views import clip, soldier_line
from handlers.cases import (
    CASES_GROUP,
    CONVERSATION,
    language,
    open_from,
    refresh_board,
    remember_volunteer,
    send_desk,
)
from handlers.steps import entry
from handlers.turn import AmanatContext, ButtonRows, State, Turn, html_lines, keyboard
from models.base import utcnow

_LOGGER = logging.getLogger(__name__)

PATTERN: Final = r"^fm:"
ANSWER_PATTERN: Final = r"^fa:"
OFFER: Final = "family_offer"


def record_lines(t: Translator, reading: ReadingView) -> list[str | None]:
    """The found man as the search unit read him: who, born, where found, by whom."""
    who = " ".join(p for p in (reading.surname, reading.name, reading.patronymic) if p)
    return [
        t(
            "review.reading",
            id=clip(reading.reading_id, 60),
            who=clip(who, 200),
            born=clip(reading.birth_year or "?", 20),
            place=clip(reading.birthplace or "?", 200),
        ),
        t(
            "review.found",
            place=clip(reading.found_place or "?", 200),
            date=clip(reading.found_date or "?", 40),
        )
        if reading.found_place or reading.found_date
        else None,
        t("review.notify.unit", unit=clip(reading.search_unit, 200)) if reading.search_unit else None,
    ]


def candidate_line(t: Translator, position: int, candidate: FamilyCandidate) -> Markup:
    likelihood = (
        t("likelihood.very_likely") if candidate.strong else t("family.score", score=round(candidate.score))
    )
    return t(
        "family.candidate",
        n=position,
        likelihood=likelihood,
        soldier=soldier_line(t, candidate.soldier),
        region=candidate.region or t("search.not_given"),
        since=candidate.since.date().isoformat(),
    )


async def family_command(update: Update, context: AmanatContext) -> State:
    """/family <reading id>: the saved searches that may be the found man's family."""
    turn = context.turn
    if not await cases.is_volunteer(context.db, context.services.settings.roles, turn.user_id):
        _LOGGER.warning("/family from user %s refused: not a volunteer", turn.user_id)
        turn.say(turn.t("case.volunteers_only"))
        return turn.state
    reading_id = " ".join(context.args or []).strip()
    if not reading_id:
        turn.say(turn.t("family.usage"))
        return turn.state
    reading, found = await family_of(context.db, context.services.registry, reading_id[:128])
    others: list[ReadingView] = []
    if reading is None:  # not an id: a description of the man, as a relative would type it
        described = await readings_described(context.services.registry, reading_id[:300])
        if not described:
            turn.say(turn.t("family.no_reading", id=clip(reading_id, 60)))
            return turn.state
        reading, others = described[0], described[1:]
        reading, found = await family_of(context.db, context.services.registry, reading.reading_id)
        assert reading is not None
    lines: list[str | None] = [turn.t("family.title"), *record_lines(turn.t, reading)]
    if others:
        ids = ", ".join(other.reading_id for other in others)
        lines.append(turn.t("family.also_fit", ids=clip(ids, 300)))
    lines.append("")
    rows: list[list[tuple[str, str]]] = []
    if not found:
        lines.append(turn.t("family.none"))
    else:
        lines.append(turn.t.plural("family.count", len(found)))
        for position, candidate in enumerate(found, start=1):
            lines.append(candidate_line(turn.t, position, candidate))
            rows.append(
                [
                    (
                        turn.t.plain("family.button.contact", n=position),
                        buttons.ContactFamily(candidate.match_id).encode(),
                    )
                ]
            )
        lines += ["", turn.t("family.hint")]
    turn.say(html_lines(*lines), rows)
    return turn.state


async def contact_press(update: Update, context: AmanatContext) -> State:
    """ "Contact this family": ask the relative whether they want to talk to the search unit."""
    turn = context.turn
    query = update.callback_query
    pressed = buttons.ContactFamily.decode(query.data if query is not None else None)
    if pressed is None:
        _LOGGER.warning("forged family button from user %s refused", turn.user_id)
        turn.toast = turn.t.plain("button.unknown")
        return turn.state
    if not await cases.is_volunteer(context.db, context.services.settings.roles, turn.user_id):
        _LOGGER.warning("family button from user %s refused: not a volunteer", turn.user_id)
        turn.toast = turn.t.plain("case.volunteers_only")
        return turn.state
    await remember_volunteer(update, context)
    item = await review.request_of_match(context.db, None, pressed.match_id)
    if item is None:
        turn.toast = turn.t.plain("case.gone_toast")
        return turn.state
    offer = await load_dialogue(context.db, CONVERSATION, item.person_id, item.person_id)
    if offer.state == OFFER and offer.data.get("match") == item.match_id:
        turn.toast = turn.t.plain("family.already_asked")
        return turn.state
    t = await language(context, item.person_id)
    rows: ButtonRows = [
        [(t.plain("family.button.agree"), buttons.FamilyAnswer(True, item.match_id).encode())],
        [(t.plain("family.button.decline"), buttons.FamilyAnswer(False, item.match_id).encode())],
    ]
    text = html_lines(
        t("family.offer.title", search=soldier_line(t, item.search)),
        "",
        *record_lines(t, item.reading),
        "",
        t("family.offer.question"),
    )
    try:
        await context.bot.send_message(item.person_id, text, reply_markup=keyboard(rows))
    except Forbidden:
        await cases.relative_blocked(context.db, item.person_id)
        turn.toast = turn.t.plain("family.unreachable")
        return turn.state
    except BadRequest as error:
        _LOGGER.warning("match %s: the family was not asked (%s)", item.match_id, type(error).__name__)
        turn.toast = turn.t.plain("family.unreachable")
        return turn.state
    record = DialogueRecord(CONVERSATION, item.person_id, item.person_id, state=OFFER)
    record.data = {"match": item.match_id, "volunteer": turn.user_id, "at": utcnow().isoformat()}
    await save_dialogue(context.db, record)
    _LOGGER.info("match %s: the family was asked by volunteer %s", item.match_id, turn.user_id)
    turn.toast = turn.t.plain("family.asked")
    return turn.state


async def answer_press(update: Update, context: AmanatContext) -> State:
    """The relative's Yes / No to the offer."""
    turn = context.turn
    query = update.callback_query
    pressed = buttons.FamilyAnswer.decode(query.data if query is not None else None)
    if pressed is None or not turn.consented:
        _LOGGER.warning("forged family answer from user %s refused", turn.user_id)
        turn.toast = turn.t.plain("button.unknown")
        return turn.state
    await answer_offer(context, turn, pressed.match_id, pressed.agree)
    return turn.state


async def answer_offer(context: AmanatContext, turn: Turn, match_id: int, agree: bool) -> None:
    """The relative's answer to "do you want to talk to the search unit" (only to the offer made)."""
    offer = await load_dialogue(context.db, CONVERSATION, turn.user_id, turn.user_id)
    item = await review.request_of_match(context.db, turn.user_id, match_id)
    if offer.state != OFFER or offer.data.get("match") != match_id or item is None:
        _LOGGER.warning(
            "family answer for match %s from user %s refused: no such offer", match_id, turn.user_id
        )
        turn.toast = turn.t.plain("button.stale")
        return
    await clear_dialogue(context.db, CONVERSATION, turn.user_id, turn.user_id)
    volunteer = int(offer.data.get("volunteer") or 0)
    t = await language(context, volunteer) if volunteer else turn.t
    if not agree:
        turn.say(turn.t("family.declined"))
        await tell_volunteer(context, volunteer, t("family.volunteer_declined", id=item.reading.reading_id))
        return
    case = await opened_case(context, turn, item)
    claimed = await cases.claim(context.db, case.id, volunteer) if volunteer else None
    if isinstance(claimed, cases.Change):
        await refresh_board(context, claimed.case)
        await send_desk(context, claimed.case, volunteer)


async def opened_case(context: AmanatContext, turn: Turn, item: ReviewItem) -> cases.CaseView:
    reading = item.reading
    name = " ".join(p for p in (reading.surname, reading.name, reading.patronymic) if p)
    return await open_from(
        context,
        turn,
        turn.t.plain("family.agreed_message", id=reading.reading_id),
        search=item.search,
        results=[{"reading_id": reading.reading_id, "name": clip(name, 120), "year": reading.birth_year}],
        source="family",
        request_id=item.request_id,
        reading_pk=item.reading_pk,
    )


async def tell_volunteer(context: AmanatContext, volunteer: int, text: str) -> None:
    if not volunteer:
        return
    try:
        await context.bot.send_message(volunteer, text)
    except (BadRequest, Forbidden) as error:
        _LOGGER.info("volunteer %s not told of a family's answer (%s)", volunteer, type(error).__name__)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """/family and "Contact this family", in the cases' group (a handled update stops there)."""

    on_command = entry(family_command, needs_consent=False, final=True)
    on_button = entry(contact_press, needs_consent=False, final=True)
    on_answer = entry(answer_press, needs_consent=False, final=True)

    application.add_handler(
        CommandHandler("family", on_command, filters=filters.ChatType.PRIVATE), CASES_GROUP
    )
    application.add_handler(CallbackQueryHandler(on_button, pattern=PATTERN), CASES_GROUP)
    application.add_handler(CallbackQueryHandler(on_answer, pattern=ANSWER_PATTERN), CASES_GROUP)
