"""The relative's dialogue as one PTB component: :class:`RelativeDialogue`, a ``BaseHandler`` that holds the
states and the handlers for each, the fallbacks, and the state store, the way PTB packages a
ConversationHandler — except that the state is read from the database for every update (several
processes, and a kill -9, lose nothing), not from a dict loaded once at start.

For one update the component loads the turn, then offers the update to its handlers in this order and
runs the first that matches (its callback returns the next state, written through before the reply):

1. ``before_consent``: /start, /language, /help, /search (kept in memory until they agree) and the
   language and consent buttons (anything else before consent is answered with the consent question);
2. ``anywhere``: commands and buttons that work in every state (/my, /forget, /cancel, delete);
3. ``states[state]``: what the current state accepts (a step button only while its step is current);
4. ``fallbacks``: text where buttons are expected, stickers and photos, step buttons of earlier steps.

Button handlers match on the typed data of handlers/buttons.py. The diagram is in handlers/dialogue.mmd;
the callbacks are in start.py, search.py, results.py and people.py, their texts in views.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import translator
from handlers import buttons, views
from handlers.dialogue_store import DialogueStore
from handlers.groups import HandlerGroup
from handlers.people import confirm_delete, delete_search, forget_answer, forget_command, my_searches
from handlers.results import ask_volunteer, more, nothing_fits, record, save
from handlers.search import (
    answer,
    back,
    cancel,
    clear,
    edit,
    go,
    idle_text,
    new_search,
    search_command,
    search_typed,
    skip,
)
from handlers.start import choose_language, consent, show_help, show_languages, start
from handlers.steps import entry, run_step, store_for
from handlers.turn import AmanatContext, State, StateCallback, services_of

# The commands of the relative's dialogue, in the order the command menu shows them.
COMMANDS: Final = ("search", "my", "language", "help", "forget", "cancel", "start")

PRIVATE: Final = filters.ChatType.PRIVATE
TEXT: Final = PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
NOT_TEXT: Final = PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT
A_COMMAND: Final = PRIVATE & filters.UpdateType.MESSAGE & filters.COMMAND

Route: TypeAlias = BaseHandler[Update, AmanatContext, State]


class ButtonHandler(BaseHandler[Update, AmanatContext, State]):
    """A button of one kind: matches when the callback data decodes to ``kind``; the callback finds the
    decoded value as ``context.pressed(kind)``."""

    def __init__(self, kind: type[buttons.ButtonData], callback: StateCallback) -> None:
        super().__init__(callback)
        self.kind = kind

    def check_update(self, update: object) -> buttons.ButtonData | None:
        if not isinstance(update, Update) or update.callback_query is None:
            return None
        return self.kind.decode(update.callback_query.data)

    def collect_additional_context(
        self,
        context: AmanatContext,
        update: Update,
        application: Application[Any, AmanatContext, Any, Any, Any, Any],
        check_result: Any,
    ) -> None:
        context.button = check_result


class RelativeDialogue(BaseHandler[Update, AmanatContext, None]):
    """The relative's dialogue: states with their handlers, fallbacks, and a store written through."""

    def __init__(
        self,
        store: DialogueStore,
        *,
        before_consent: Sequence[Route],
        anywhere: Sequence[Route],
        states: Mapping[State, Sequence[Route]],
        fallbacks: Sequence[Route],
    ) -> None:
        super().__init__(self._not_called)
        self.store = store
        self.before_consent = tuple(before_consent)
        self.anywhere = tuple(anywhere)
        self.states = {state: tuple(routes) for state, routes in states.items()}
        self.fallbacks = tuple(fallbacks)
        self._all = (
            *self.before_consent,
            *self.anywhere,
            *(route for routes in self.states.values() for route in routes),
            *self.fallbacks,
        )

    @staticmethod
    async def _not_called(update: Update, context: AmanatContext) -> None:
        raise AssertionError("RelativeDialogue handles updates itself")

    def check_update(self, update: object) -> bool | None:
        """Whether any of the dialogue's handlers (in any state) takes this update."""
        if not isinstance(update, Update) or update.effective_user is None:
            return None
        return True if any(_matches(route, update) for route in self._all) else None

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, AmanatContext, Any, Any, Any, Any],
        check_result: object,
        context: AmanatContext,
    ) -> None:
        """One step: the turn is loaded, routed by its state, written through, answered; then stop."""

        async def route(update: Update, context: AmanatContext) -> State:
            return await self._route(update, application, context)

        await run_step(update, context, route, store=self.store, needs_consent=False)
        raise ApplicationHandlerStop  # later groups must not answer the same update again

    async def _route(
        self,
        update: Update,
        application: Application[Any, AmanatContext, Any, Any, Any, Any],
        context: AmanatContext,
    ) -> State:
        turn = context.turn
        if not turn.consented:
            picked = context.before_consent.get("lang")
            if picked:  # chosen before consent: kept in memory, not stored
                turn.picked_language = picked
                turn.t = translator(picked)
            candidates: tuple[Route, ...] = self.before_consent
        else:
            candidates = (
                *self.before_consent,
                *self.anywhere,
                *self.states.get(turn.state, ()),
                *self.fallbacks,
            )
        for candidate in candidates:
            check = candidate.check_update(update)
            if check is None or check is False:
                continue
            stale = isinstance(check, buttons.StepButton) and check.nonce != turn.nonce
            if stale and candidate not in self.fallbacks:  # an earlier step's button: a fallback says so
                continue
            result = await candidate.handle_update(update, application, check, context)
            assert isinstance(result, State), result
            return result
        views.ask_consent(turn)  # only updates before consent get here
        return turn.state


def _matches(route: Route, update: Update) -> bool:
    check = route.check_update(update)
    return check is not None and check is not False


# ------------------------------------------------------------------------ callbacks without a module


async def on_text_elsewhere(update: Update, context: AmanatContext) -> State:
    """Text where buttons are expected: point to them and show the step again."""
    turn = context.turn
    views.repeat_prompt(turn, turn.t("input.use_buttons"))
    return turn.state


async def on_other_message(update: Update, context: AmanatContext) -> State:
    """A sticker, photo, voice, file, location…: we read only text; the dialogue stays where it was."""
    turn = context.turn
    if turn.state == State.IDLE:
        turn.say(turn.t("input.not_text_idle"))
    else:
        views.repeat_prompt(turn, turn.t("input.not_text"))
    return turn.state


async def on_stale_button(update: Update, context: AmanatContext) -> State:
    """A step button of an earlier message (or one this step does not take): say so once (no toast as
    well), and show the step."""
    turn = context.turn
    views.repeat_prompt(turn, turn.t("button.stale_text"))
    return turn.state


async def on_unknown_command(update: Update, context: AmanatContext) -> State:
    """A command the bot does not know: say so and list the commands; the dialogue stays."""
    turn = context.turn
    if turn.state == State.IDLE:
        turn.say(turn.t("input.unknown_command"))
    else:
        views.repeat_prompt(turn, turn.t("input.unknown_command"))
    return turn.state


async def on_unknown_button(update: Update, context: AmanatContext) -> State:
    """Button data of no known kind (forged, or from another version of the bot): a toast, nothing else."""
    turn = context.turn
    turn.toast = turn.t.plain("button.unknown")
    return turn.state


# ------------------------------------------------------------------------ the wiring


def _text(callback: StateCallback) -> Route:
    return MessageHandler(TEXT, callback)


def relative_dialogue(store: DialogueStore) -> RelativeDialogue:
    """The dialogue's states and handlers (see handlers/dialogue.mmd)."""
    asking: list[Route] = [
        ButtonHandler(buttons.Skip, skip),
        ButtonHandler(buttons.Clear, clear),
        ButtonHandler(buttons.Back, back),
        ButtonHandler(buttons.Stop, cancel),
        _text(answer),
    ]
    return RelativeDialogue(
        store,
        before_consent=[
            CommandHandler("start", start, filters=PRIVATE),
            CommandHandler("language", show_languages, filters=PRIVATE),
            CommandHandler("help", show_help, filters=PRIVATE),
            CommandHandler("search", search_command, filters=PRIVATE),
            ButtonHandler(buttons.Language, choose_language),
            ButtonHandler(buttons.Consent, consent),
        ],
        anywhere=[
            CommandHandler("my", my_searches, filters=PRIVATE),
            CommandHandler("forget", forget_command, filters=PRIVATE),
            CommandHandler("cancel", cancel, filters=PRIVATE),
            ButtonHandler(buttons.Delete, delete_search),
            ButtonHandler(buttons.ConfirmDelete, confirm_delete),
        ],
        states={
            **{state: asking for state in views.ASKING},
            State.SUMMARY: [
                ButtonHandler(buttons.Go, go),
                ButtonHandler(buttons.Edit, edit),
                ButtonHandler(buttons.Stop, cancel),
            ],
            State.RESULTS: [
                ButtonHandler(buttons.More, more),
                ButtonHandler(buttons.Record, record),
                ButtonHandler(buttons.NothingFits, nothing_fits),
                ButtonHandler(buttons.Save, save),
                ButtonHandler(buttons.NewSearch, new_search),
                ButtonHandler(buttons.AskVolunteer, ask_volunteer),
            ],
            State.CONFIRM_FORGET: [ButtonHandler(buttons.Forget, forget_answer)],
            State.IDLE: [ButtonHandler(buttons.SearchTyped, search_typed), _text(idle_text)],
        },
        fallbacks=[
            _text(on_text_elsewhere),
            MessageHandler(NOT_TEXT, on_other_message),
            ButtonHandler(buttons.StepButton, on_stale_button),
        ],
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the relative's dialogue (group DIALOGUE) and the answer to unknown input (group UNKNOWN)."""
    application.add_handler(relative_dialogue(store_for(services_of(application))), HandlerGroup.DIALOGUE)
    application.add_handler(
        MessageHandler(A_COMMAND, entry(on_unknown_command, final=True)), HandlerGroup.UNKNOWN
    )
    application.add_handler(
        CallbackQueryHandler(entry(on_unknown_button, needs_consent=False, final=True)), HandlerGroup.UNKNOWN
    )
