"""/my (the relative's saved searches, with delete buttons) and /forget (erase all their personal data)."""

from __future__ import annotations

from markupsafe import Markup
from telegram import Update

from bot.services import people
from bot.services.matching import pause_button_data, resume_button_data
from bot.services.requests import SavedSearch, delete_request, list_requests
from handlers import buttons
from handlers.runtime import AmanatContext, State, Turn, html_lines
from models import RequestStatus


def describe(turn: Turn, saved: SavedSearch) -> Markup:
    """One saved search in a line: name, birth year, birthplace."""
    f = saved.fields
    name = " ".join(part for part in (f.surname, f.name, f.patronymic) if part)
    year = None
    if f.birth_year is not None:
        year = (
            str(f.birth_year)
            if f.birth_year_to in (None, f.birth_year)
            else f"{f.birth_year}–{f.birth_year_to}"
        )
    return turn.t(
        "my.item",
        name=name,
        year=year or turn.t("search.not_given"),
        place=f.birthplace or turn.t("search.not_given"),
    )


async def my_searches_view(turn: Turn, context: AmanatContext) -> tuple[Markup, list[list[tuple[str, str]]]]:
    """The /my message: the list and one delete button per saved search."""
    saved = await list_requests(context.db, turn.user_id)
    if not saved:
        return turn.t("my.empty"), []
    lines = [turn.t.plural("my.title", len(saved))]
    rows: list[list[tuple[str, str]]] = []
    for position, item in enumerate(saved, start=1):
        line = turn.t("my.line", n=position, text=describe(turn, item))
        paused = item.status == RequestStatus.PAUSED
        lines.append(Markup(f"{line} {turn.t('notify.status.paused')}") if paused else line)
        toggle = (  # pause/resume: handlers/notifications.py
            (turn.t.plain("notify.button.resume", n=position), resume_button_data(item.id))
            if paused
            else (turn.t.plain("notify.button.pause_n", n=position), pause_button_data(item.id))
        )
        rows.append([(turn.t.plain("button.delete", n=position), buttons.delete(item.id)), toggle])
    return html_lines(*lines, "", turn.t("my.hint")), rows


async def my_searches(update: Update, context: AmanatContext) -> State:
    """/my: the saved searches with delete buttons (the dialogue stays where it was)."""
    turn = context.turn
    text, rows = await my_searches_view(turn, context)
    turn.say(text, rows)
    return turn.state


async def delete_search(update: Update, context: AmanatContext, request_id: int) -> State:
    """A delete button of /my: delete it if it is the person's own, then show the list again in place."""
    turn = context.turn
    deleted = await delete_request(context.db, turn.user_id, request_id)
    turn.toast = turn.t.plain("my.deleted" if deleted else "my.not_found")
    text, rows = await my_searches_view(turn, context)
    message = update.effective_message
    if message is not None and message.message_id:
        turn.edit(message.message_id, text, rows)
    else:
        turn.say(text, rows)
    return turn.state


def ask_forget(turn: Turn, prefix: str | None = None) -> State:
    """Ask to confirm erasing everything (a new step)."""
    turn.new_step()
    n = turn.nonce
    turn.say(
        html_lines(prefix, "" if prefix else None, turn.t("forget.confirm")),
        [
            [(turn.t.plain("button.forget_yes"), buttons.step("forget", n, "y"))],
            [(turn.t.plain("button.forget_no"), buttons.step("forget", n, "n"))],
        ],
    )
    return State.CONFIRM_FORGET


async def forget_command(update: Update, context: AmanatContext) -> State:
    """/forget: ask for confirmation."""
    return ask_forget(context.turn)


async def forget_answer(update: Update, context: AmanatContext, yes: bool) -> State:
    """The answer to /forget: erase everything (people row, searches, cases, dialogue) or keep it."""
    turn = context.turn
    if not yes:
        turn.new_step()
        turn.say(turn.t("forget.kept"))
        return State.IDLE
    await people.forget_person(context.db, turn.user_id)
    turn.forgotten = True  # nothing more is written about this person
    turn.person = None
    turn.say(turn.t("forget.done"))
    return State.IDLE
