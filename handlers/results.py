"""Search results, the callbacks: the first page, "more", a full record, "nothing fits", saving the search.

Result buttons refer to positions in the list stored in the dialogue state (``data["results"]``), never
to registry ids the user could forge; a position outside that list is a stale or forged button. The
texts and keyboards are in handlers/views.py.
"""

from __future__ import annotations

from telegram import Update

from bot.services.board_stats import record_search
from bot.services.registry_search import Found
from bot.services.saved_searches import SearchFields, save_request
from handlers import buttons, views
from handlers.turn import AmanatContext, State, Turn, html_lines


def _volunteers(context: AmanatContext) -> bool:
    return context.services.features.ask_volunteer is not None


async def fetch(turn: Turn, context: AmanatContext, limit: int) -> list[Found]:
    """Run the search for the stored answers (deterministic, so a page can be fetched again)."""
    fields = SearchFields.from_mapping(views.answers(turn))
    return await context.services.registry.search(fields.to_query(), limit=min(limit, views.MAX_RESULTS))


async def show_page(turn: Turn, context: AmanatContext) -> State:
    """The next page of results after ``data["shown"]``."""
    settings = context.services.settings.search
    turn.data.pop("aside", None)
    shown = int(turn.data.get("shown", 0))
    wanted = max(settings.limit, shown + settings.page_size + 1)
    found = await fetch(turn, context, wanted)
    if shown == 0:  # a new search (not "more"): counted per week on the administrators' board
        await record_search(context.db, len(found))
    turn.data["results"] = [item.reading.reading_id for item in found]
    page = found[shown : shown + settings.page_size]
    if not found:
        turn.data["shown"] = 0
        views.no_results(turn, volunteers=_volunteers(context))
        return State.RESULTS
    turn.data["shown"] = shown + len(page)
    views.results_page(
        turn, found, shown, page, wanted=wanted, page_size=settings.page_size, volunteers=_volunteers(context)
    )
    return State.RESULTS


async def run_search(turn: Turn, context: AmanatContext) -> State:
    """Search for the answers and show the first page (a new step: older buttons become stale)."""
    turn.new_step()
    turn.data.pop("editing", None)
    turn.data.pop("saved", None)
    turn.data["shown"] = 0
    return await show_page(turn, context)


async def more(update: Update, context: AmanatContext) -> State:
    """ "More": the next page."""
    return await show_page(context.turn, context)


async def record(update: Update, context: AmanatContext) -> State:
    """The full record of one result, every field as read."""
    turn = context.turn
    index = context.pressed(buttons.Record).index
    results = turn.data.get("results") or []
    if index >= len(results):
        turn.toast = turn.t.plain("button.stale")
        return turn.state
    reading = await context.services.registry.get(str(results[index]))
    if reading is None:
        turn.say(turn.t("record.gone"))
        return turn.state
    views.result_record(turn, index, reading)
    return turn.state


async def nothing_fits(update: Update, context: AmanatContext) -> State:
    """ "Nothing fits": say what can be done next (save the search to be told of new readings)."""
    views.nothing_fits(context.turn, volunteers=_volunteers(context))
    return State.RESULTS


async def save(update: Update, context: AmanatContext) -> State:
    """Save this search so the matching job tells the relative of new readings."""
    turn = context.turn
    if turn.data.get("saved"):
        turn.toast = turn.t.plain("saved.already")
        return turn.state
    fields = SearchFields.from_mapping(views.answers(turn))
    saved = await save_request(context.db, turn.user_id, fields)
    turn.data["saved"] = saved.id
    turn.say(html_lines(turn.t("saved.done"), "", views.summary_text(turn), "", turn.t("saved.next")))
    saved_hook = context.services.features.search_saved
    if (
        saved_hook is not None
    ):  # an open appeal that this search fits: told at once (handlers/appeal_reply.py)
        await saved_hook(update, context, saved.id)
    return State.RESULTS


async def ask_volunteer(update: Update, context: AmanatContext) -> State:
    """ "Ask a volunteer": the volunteers' feature takes it (without that feature the button is unknown)."""
    volunteer = context.services.features.ask_volunteer
    turn = context.turn
    if volunteer is None:
        turn.toast = turn.t.plain("button.unknown")
        return turn.state
    result = await volunteer(update, context)
    assert isinstance(result, State)
    return result
