"""Search results: the best matches with the likelihood in words and the reasons, the full record,
"more", "nothing fits", and saving the search.

Result buttons refer to positions in the list stored in the dialogue state (``data["results"]``), never
to registry ids the user could forge; a position outside that list is a stale or forged button.
"""

from __future__ import annotations

from typing import Any, Final

from telegram import Update

from bot.i18n import Html, Translator
from bot.search import Match
from bot.services import registry_search
from bot.services.registry_rows import COLUMNS
from bot.services.registry_search import Found, ReadingView
from bot.services.requests import SearchFields, save_request
from handlers import buttons
from handlers.runtime import AmanatContext, State, Turn, html_lines
from handlers.search import answers, summary_text

MAX_RESULTS: Final = buttons.MAX_INDEX + 1
MAX_VALUE: Final = 300  # a raw registry value longer than this is cut in the chat (the record keeps it)
RECORD_FIELDS: Final = tuple(
    column for column in COLUMNS if column != "reading_id"
)  # as the registry orders them


def likelihood_key(match: Match) -> str:
    """The catalog key of the score in words."""
    if match.strong:
        return "likelihood.very_likely"
    if match.score >= 50:
        return "likelihood.likely"
    if match.score >= 20:
        return "likelihood.possible"
    return "likelihood.unlikely"


def clip(value: str | None, limit: int = MAX_VALUE) -> str | None:
    """A raw value cut to ``limit`` characters (with an ellipsis) for display."""
    if value is None or not value.strip():
        return None
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def full_name(reading: ReadingView) -> str:
    return " ".join(
        part for part in (reading.surname, reading.name, reading.patronymic) if part and part.strip()
    )


def render_found(turn: Turn, position: int, found: Found) -> Html:
    """One result: who, how likely, why, where and when found, by whom, where buried."""
    t, reading = turn.t, found.reading
    name, year, likelihood = (
        clip(full_name(reading), 150),
        clip(reading.birth_year, 20),
        t(likelihood_key(found.match)),
    )
    lines: list[str | None] = [
        t("results.item_title", n=position, name=name, year=year, likelihood=likelihood)
        if year
        else t("results.item_title_no_year", n=position, name=name, likelihood=likelihood)
    ]
    for reason in found.match.reasons[:6]:
        lines.append(t("results.reason", reason=render_reason(turn, reason)))
    if reading.found_place or reading.found_date:
        lines.append(
            t(
                "results.found_at",
                place=clip(reading.found_place) or t("search.not_given"),
                date=clip(reading.found_date, 40) or t("search.not_given"),
            )
        )
    if reading.search_unit:
        lines.append(t("results.search_unit", unit=clip(reading.search_unit)))
    if reading.burial_place:
        lines.append(t("results.burial", place=clip(reading.burial_place)))
    return html_lines(*lines)


def render_reason(turn: Turn, reason: Any) -> Html:
    """A reason in words; an unknown code (a newer engine) falls back to a neutral phrase."""
    if turn.t.has(f"reason.{reason.code}"):
        try:
            return turn.t.reason(reason)
        except KeyError:
            pass
    return turn.t("reason.other")


def after_results_rows(
    turn: Turn, context: AmanatContext, *, more: bool, found: int
) -> list[list[tuple[str, str]]]:
    """Buttons under the results: records, more, nothing fits, save, (ask a volunteer), new search."""
    t, n = turn.t, turn.nonce
    rows: list[list[tuple[str, str]]] = []
    shown = int(turn.data.get("shown", 0))
    start = max(shown - context.services.settings.search.page_size, 0)
    record_buttons = [
        (t.plain("button.record", n=index + 1), buttons.step("rec", n, index))
        for index in range(start, shown)
    ]
    if record_buttons:
        rows.append(record_buttons)
    if more:
        rows.append([(t.plain("button.more"), buttons.step("more", n))])
    if found:
        rows.append([(t.plain("button.nothing_fits"), buttons.step("none", n))])
    rows.extend(save_rows(turn, context))
    rows.append([(t.plain("button.new_search"), buttons.step("new", n))])
    return rows


def save_rows(turn: Turn, context: AmanatContext) -> list[list[tuple[str, str]]]:
    """ "Save this search" (unless saved) and "ask a volunteer" (only when that feature exists)."""
    t, n = turn.t, turn.nonce
    rows: list[list[tuple[str, str]]] = []
    if not turn.data.get("saved"):
        rows.append([(t.plain("button.save"), buttons.step("save", n))])
    if context.services.features.ask_volunteer is not None:  # hook for the volunteers' issue
        rows.append([(t.plain("button.ask_volunteer"), buttons.step("help", n))])
    return rows


async def fetch(turn: Turn, context: AmanatContext, limit: int) -> list[Found]:
    """Run the search for the stored answers (deterministic, so a page can be fetched again)."""
    fields = SearchFields.from_mapping(answers(turn))
    return await registry_search.search_registry(context.db, fields.to_query(), limit=min(limit, MAX_RESULTS))


async def show_page(turn: Turn, context: AmanatContext) -> State:
    """The next page of results after ``data["shown"]``."""
    settings = context.services.settings.search
    shown = int(turn.data.get("shown", 0))
    wanted = max(settings.limit, shown + settings.page_size + 1)
    found = await fetch(turn, context, wanted)
    turn.data["results"] = [item.reading.reading_id for item in found]
    page = found[shown : shown + settings.page_size]
    if not found:
        turn.data["shown"] = 0
        turn.say(
            html_lines(turn.t("results.none"), "", summary_text(turn), "", turn.t("results.none_hint")),
            [
                *save_rows(turn, context),
                [(turn.t.plain("button.new_search"), buttons.step("new", turn.nonce))],
            ],
        )
        return State.RESULTS
    turn.data["shown"] = shown + len(page)
    more = len(found) > turn.data["shown"] and turn.data["shown"] < MAX_RESULTS
    header = turn.t.plural("results.count", len(found)) if shown == 0 else turn.t("results.more_header")
    blocks = [render_found(turn, shown + i + 1, item) for i, item in enumerate(page)]
    # the search returned fewer than asked: every reading that may be him has been shown
    end = all_shown(turn, context) if not more and len(found) < min(wanted, MAX_RESULTS) else None
    turn.say(
        html_lines(header, "", "\n\n".join(blocks), "\n" + end if end else None),
        after_results_rows(turn, context, more=more, found=len(found)),
    )
    return State.RESULTS


def all_shown(turn: Turn, context: AmanatContext) -> Html:
    """The end of the list: these are all the readings that may be him, and what to do next."""
    t = turn.t
    return html_lines(
        t("results.all_shown"),
        None if turn.data.get("saved") else t("results.all_shown_save"),
        t("results.all_shown_volunteer") if context.services.features.ask_volunteer is not None else None,
    )


async def run_search(turn: Turn, context: AmanatContext) -> State:
    """Search for the answers and show the first page (a new step: older buttons become stale)."""
    turn.new_step()
    turn.data.pop("editing", None)
    turn.data.pop("saved", None)
    turn.data["shown"] = 0
    return await show_page(turn, context)


def results_menu(turn: Turn, prefix: str | None = None) -> None:
    """Remind where we are after the results (the buttons of the results message still work)."""
    turn.say(html_lines(prefix, "" if prefix else None, turn.t("results.waiting")))


async def more(update: Update, context: AmanatContext) -> State:
    """ "More": the next page."""
    return await show_page(context.turn, context)


async def record(update: Update, context: AmanatContext, index: int) -> State:
    """The full record of one result, every field as read."""
    turn = context.turn
    results = turn.data.get("results") or []
    if index >= len(results):
        turn.toast = turn.t.plain("button.stale")
        return turn.state
    reading = await registry_search.get_reading(context.db, str(results[index]))
    if reading is None:
        turn.say(turn.t("record.gone"))
        return turn.state
    turn.say(
        record_text(turn.t, turn.t("record.title", n=index + 1, id=clip(reading.reading_id, 100)), reading)
    )
    return turn.state


def record_text(t: Translator, title: str, reading: ReadingView) -> Html:
    """A reading in full under ``title``: every field as read, then the extra columns of its import."""
    lines: list[str | None] = [title]
    for field in RECORD_FIELDS:
        value = clip(getattr(reading, field), 600)
        if value:
            lines.append(t("record.line", field=t(f"field.{field}"), value=value))
    for key, value in list(reading.extra.items())[:20]:
        if clip(str(value)):
            lines.append(t("record.line", field=clip(str(key), 60) or "", value=clip(str(value), 600) or ""))
    return html_lines(*lines)


async def nothing_fits(update: Update, context: AmanatContext) -> State:
    """ "Nothing fits": say what can be done next (save the search to be told of new readings)."""
    turn = context.turn
    turn.say(
        turn.t("results.nothing_fits"),
        [*save_rows(turn, context), [(turn.t.plain("button.new_search"), buttons.step("new", turn.nonce))]],
    )
    return State.RESULTS


async def save(update: Update, context: AmanatContext) -> State:
    """Save this search so the matching job tells the relative of new readings."""
    turn = context.turn
    if turn.data.get("saved"):
        turn.toast = turn.t.plain("saved.already")
        return turn.state
    fields = SearchFields.from_mapping(answers(turn))
    saved = await save_request(context.db, turn.user_id, fields)
    turn.data["saved"] = saved.id
    turn.say(html_lines(turn.t("saved.done"), "", summary_text(turn), "", turn.t("saved.next")))
    return State.RESULTS


async def new_search(update: Update, context: AmanatContext) -> State:
    """ "New search": the questions from the start."""
    from handlers.search import begin

    return begin(context.turn)
