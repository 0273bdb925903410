"""The relative's dialogue wired into PTB: which update goes to which state callback.

:func:`register` adds the handlers to an Application. Text, buttons and other messages are routed by the
state read from the database (see handlers/runtime.py); the diagram is in handlers/dialogue.mmd.
"""

from __future__ import annotations

from typing import Any, Final

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import buttons
from handlers.people import delete_search, forget_answer, forget_command, my_searches
from handlers.results import more, new_search, nothing_fits, record, save
from handlers.runtime import AmanatContext, HandlerCallback, State, StateCallback, entry
from handlers.search import ASKING, answer, back, cancel, edit, go, repeat_prompt, search_command, skip
from handlers.start import ask_consent, choose_language, consent, show_help, show_languages, start

# The commands of the relative's dialogue, in the order the command menu shows them.
COMMANDS: Final = ("search", "my", "language", "help", "forget", "cancel", "start")

# Which step buttons each state accepts; any other (an old message's button) is stale.
ACCEPTS: Final[dict[State, frozenset[str]]] = {
    **{state: frozenset({"skip", "back", "stop"}) for state in ASKING},
    State.SUMMARY: frozenset({"go", "edit", "stop"}),
    State.RESULTS: frozenset({"more", "rec", "none", "save", "new", "help"}),
    State.CONFIRM_FORGET: frozenset({"forget"}),
    State.IDLE: frozenset(),
}

PRIVATE: Final = filters.ChatType.PRIVATE


async def on_text(update: Update, context: AmanatContext) -> State:
    """Text that is not a command: the answer to the current question, or a hint what to do."""
    turn = context.turn
    state = turn.state
    if state in ASKING:
        return await answer(update, context)
    if state == State.IDLE:
        turn.say(turn.t("idle.hint"))
        return state
    repeat_prompt(turn, turn.t("input.use_buttons"))
    return state


async def on_other_message(update: Update, context: AmanatContext) -> State:
    """A sticker, photo, voice, file, location…: we read only text; the dialogue stays where it was."""
    turn = context.turn
    if turn.state == State.IDLE:
        turn.say(turn.t("input.not_text_idle"))
    else:
        repeat_prompt(turn, turn.t("input.not_text"))
    return turn.state


async def on_unknown_command(update: Update, context: AmanatContext) -> State:
    """A command the bot does not know: say so and list the commands; the dialogue stays."""
    turn = context.turn
    if turn.state == State.IDLE:
        turn.say(turn.t("input.unknown_command"))
    else:
        repeat_prompt(turn, turn.t("input.unknown_command"))
    return turn.state


async def on_button(update: Update, context: AmanatContext) -> State:
    """Any inline button: parse (never trust) the data, check it belongs to the current step, act."""
    turn = context.turn
    query = update.callback_query
    press = buttons.parse(query.data if query is not None else None)
    if press is None:
        turn.toast = turn.t.plain("button.unknown")
        return turn.state
    if press.action == "lang":
        assert press.arg is not None
        return await choose_language(update, context, press.arg)
    if press.action == "ok":
        assert press.arg is not None
        return await consent(update, context, press.arg[:2], press.arg[2] == "y")
    if not turn.consented:
        ask_consent(turn)
        return turn.state
    if press.action == "del":
        return await delete_search(update, context, press.index)
    state = turn.state
    if press.nonce != turn.nonce or press.action not in ACCEPTS.get(state, frozenset()):
        turn.toast = turn.t.plain("button.stale")
        repeat_prompt(turn, turn.t("button.stale_text"))
        return state
    return await _step_button(update, context, press)


async def _step_button(update: Update, context: AmanatContext, press: buttons.Press) -> State:
    """A current step's button."""
    action = press.action
    simple: dict[str, StateCallback] = {
        "skip": skip,
        "back": back,
        "stop": cancel,
        "go": go,
        "more": more,
        "none": nothing_fits,
        "save": save,
        "new": new_search,
    }
    if action in simple:
        return await simple[action](update, context)
    if action == "edit":
        return await edit(update, context, press.index)
    if action == "rec":
        return await record(update, context, press.index)
    if action == "forget":
        return await forget_answer(update, context, press.arg == "y")
    volunteer = context.services.features.ask_volunteer
    if action == "help" and volunteer is not None:
        result = await volunteer(update, context)
        assert isinstance(result, State)
        return result
    turn = context.turn
    turn.toast = turn.t.plain("button.unknown")
    return turn.state


def _stop_after(callback: HandlerCallback) -> HandlerCallback:
    """Run ``callback``, then stop: the fallbacks of later groups must not answer the same update."""

    async def handle(update: Update, context: AmanatContext) -> None:
        await callback(update, context)
        raise ApplicationHandlerStop

    handle.__name__ = callback.__name__
    handle.__doc__ = callback.__doc__
    return handle


def _handler(callback: StateCallback, *, needs_consent: bool = True) -> HandlerCallback:
    return _stop_after(entry(callback, needs_consent=needs_consent))


DIALOGUE_GROUP: Final = 0
FALLBACK_GROUP: Final = 10


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the relative's dialogue to ``application``.

    Group 0 (DIALOGUE_GROUP): the dialogue's commands, its buttons, text answers and other messages, in
    private chats. Within a group PTB runs the first handler that matches, so commands come before the
    text handler (which would otherwise take "/search …" as an answer). A handled update ends with
    ApplicationHandlerStop, so later groups do not answer it again.
    Group 10 (FALLBACK_GROUP): what nobody handled — unknown commands and unknown buttons — gets a clear
    answer. Features of later issues register their handlers in groups between (or before 0 when they
    must see private text first, e.g. a relative's reply to a volunteer) and stop the update the same way.
    """
    consent_free = {"start": start, "language": show_languages, "help": show_help}
    with_consent = {
        "search": search_command,
        "my": my_searches,
        "forget": forget_command,
        "cancel": cancel,
    }
    for name, callback in consent_free.items():
        application.add_handler(
            CommandHandler(name, _handler(callback, needs_consent=False), filters=PRIVATE), DIALOGUE_GROUP
        )
    for name, callback in with_consent.items():
        application.add_handler(CommandHandler(name, _handler(callback), filters=PRIVATE), DIALOGUE_GROUP)
    application.add_handler(
        CallbackQueryHandler(_handler(on_button, needs_consent=False), pattern=buttons.PATTERN),
        DIALOGUE_GROUP,
    )
    application.add_handler(
        MessageHandler(
            PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, _handler(on_text)
        ),
        DIALOGUE_GROUP,
    )
    application.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT, _handler(on_other_message)),
        DIALOGUE_GROUP,
    )
    application.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & filters.COMMAND, _handler(on_unknown_command)),
        FALLBACK_GROUP,
    )
    application.add_handler(CallbackQueryHandler(_handler(on_button, needs_consent=False)), FALLBACK_GROUP)
