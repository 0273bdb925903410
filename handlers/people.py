"""/my (the relative's saved searches, with delete buttons) and /forget (erase all their personal data):
the callbacks. The texts and keyboards are in handlers/views.py."""

from __future__ import annotations

from markupsafe import Markup
from telegram import Update

from bot.services import people
from bot.services.saved_searches import delete_request, list_requests
from handlers import buttons, views
from handlers.cases import saved_search_button, withdraw_cases
from handlers.stories import forget_stories, my_story_rows
from handlers.turn import AmanatContext, State, Turn, html_lines


async def my_searches_view(turn: Turn, context: AmanatContext) -> tuple[Markup, views.Rows]:
    """The /my message: the list and its buttons (also redrawn after pause/resume), with "ask a
    volunteer" about each saved search when that feature is on."""
    saved = await list_requests(context.db, turn.user_id)
    text, rows = views.my_searches(turn, saved)
    story_rows = await my_story_rows(context, turn)  # the memory book: the person's stories
    if story_rows:
        text = html_lines(text, "", turn.t("story.my_title"))
    if context.services.features.ask_volunteer is None or len(rows) != len(saved):
        return text, [*rows, *story_rows]
    with_ask: views.Rows = []  # "ask a volunteer" above each search's row, so Delete stays last
    for position, (item, row) in enumerate(zip(saved, rows, strict=True), start=1):
        with_ask += [[saved_search_button(turn.t, item.id, position)], row]
    return text, [*with_ask, *story_rows]


async def my_searches(update: Update, context: AmanatContext) -> State:
    """/my: the saved searches with their buttons (the dialogue stays where it was)."""
    turn = context.turn
    text, rows = await my_searches_view(turn, context)
    turn.say(text, rows)
    turn.data["aside"] = True  # the last screen is /my, not the step's (see start.choose_language)
    return turn.state


def _show_in_place(update: Update, turn: Turn, text: Markup, rows: views.Rows) -> None:
    message = update.effective_message
    if message is not None and message.message_id:
        turn.edit(message.message_id, text, rows)
    else:
        turn.say(text, rows)


async def delete_search(update: Update, context: AmanatContext) -> State:
    """A delete button of /my: ask to confirm, in place of the list."""
    turn = context.turn
    request_id = context.pressed(buttons.Delete).request_id
    saved = await list_requests(context.db, turn.user_id)
    position = next((n for n, item in enumerate(saved, start=1) if item.id == request_id), None)
    if position is None:
        turn.toast = turn.t.plain("my.not_found")
        _show_in_place(update, turn, *views.my_searches(turn, saved))
        return turn.state
    _show_in_place(update, turn, *views.confirm_delete(turn, position, saved[position - 1]))
    turn.data["aside"] = True
    return turn.state


async def confirm_delete(update: Update, context: AmanatContext) -> State:
    """The answer to "Delete this saved search?": delete it if it is the person's own (yes), then the
    list again in place."""
    turn = context.turn
    press = context.pressed(buttons.ConfirmDelete)
    if press.yes:
        deleted = await delete_request(context.db, turn.user_id, press.request_id)
        turn.toast = turn.t.plain("my.deleted" if deleted else "my.not_found")
    _show_in_place(update, turn, *(await my_searches_view(turn, context)))
    turn.data["aside"] = True
    return turn.state


async def forget_command(update: Update, context: AmanatContext) -> State:
    """/forget: ask for confirmation."""
    return views.ask_forget(context.turn)


async def forget_answer(update: Update, context: AmanatContext) -> State:
    """The answer to /forget: erase everything (people row, searches, cases, dialogue) or keep it."""
    turn = context.turn
    if not context.pressed(buttons.Forget).yes:
        turn.new_step()
        turn.say(turn.t("forget.kept"))
        return State.IDLE
    await withdraw_cases(context, turn.user_id)  # open cases closed, claimers told, messages erased
    await forget_stories(context, turn.user_id)  # the memory book: stories, drafts and their files
    await people.forget_person(context.db, turn.user_id)
    context.before_consent.clear()
    turn.forgotten = True  # nothing more is written about this person
    turn.person = None
    turn.say(turn.t("forget.done"))
    return State.IDLE
