"""/start, /language, the consent to store personal data, and /help: the callbacks.

Before consent nothing about the person is stored: the chosen language travels inside the consent
buttons' callback data (``ok:kk:y``) instead of a database row, and what they asked for before agreeing
(the language picked, ``/search Иванов``, an appeal's deep link) is kept in memory only (``context.before_consent``) and
continued once they agree. The texts are in handlers/views.py.
"""

from __future__ import annotations

from telegram import Update

from bot.i18n import translator
from bot.services import people
from handlers import buttons, views
from handlers.appeal_reply import offer_case
from handlers.search import search_for
from handlers.turn import AmanatContext, State


async def start(update: Update, context: AmanatContext) -> State:
    """/start: greet a newcomer (language, consent) or welcome back someone who consented."""
    turn = context.turn
    if not turn.consented:
        views.ask_consent(turn)
        return State.IDLE
    turn.data.clear()
    views.how_to(turn, turn.t("start.welcome_back"))
    return State.IDLE


async def show_languages(update: Update, context: AmanatContext) -> State:
    """/language: offer the three languages (the dialogue stays where it was)."""
    turn = context.turn
    views.show_languages(turn)
    return turn.state


async def choose_language(update: Update, context: AmanatContext) -> State:
    """A language button: switch (and repeat the current question in the new language)."""
    turn = context.turn
    code = context.pressed(buttons.Language).code
    if code == "any":
        return await show_languages(update, context)
    if not turn.consented:
        context.before_consent["lang"] = code
        views.greeting(turn, code)
        return State.IDLE
    await people.set_language(context.db, turn.user_id, code)
    turn.t = translator(code)
    turn.say(turn.t("language.changed"))
    if not (turn.state == State.RESULTS and turn.data.get("aside")):  # the results are not the last screen
        views.repeat_prompt(turn)
    return turn.state


async def consent(update: Update, context: AmanatContext) -> State:
    """A consent button: store the person (yes) or store nothing and say so (no)."""
    turn = context.turn
    press = context.pressed(buttons.Consent)
    code = press.lang
    t = translator(code)
    turn.t = t
    if not press.yes:
        if turn.consented:
            turn.say(t("consent.already"))
            return turn.state
        context.before_consent.pop("search", None)  # they said no: nothing of it is kept
        views.declined(turn, t, code)
        return State.IDLE
    user = update.effective_user
    already = turn.consented
    turn.person = await people.give_consent(
        context.db,
        turn.user_id,
        code,
        first_name=user.first_name if user else None,
        username=user.username if user else None,
    )
    if already:
        turn.say(t("consent.already"))
        return turn.state
    remembered = context.before_consent
    remembered.pop("lang", None)
    appeal = remembered.pop("appeal", None)
    if appeal is not None:  # they came from an appeal's deep link: on with "this may be my relative"
        turn.say(t("consent.thanks"))
        await offer_case(turn, context, int(appeal))
        return turn.state
    asked = remembered.pop("search", None)
    if asked is None:
        views.how_to(turn, t("consent.thanks"))
        return State.IDLE
    turn.say(t("consent.thanks"))  # and on with what they asked for before agreeing
    return await search_for(turn, context, asked)


async def show_help(update: Update, context: AmanatContext) -> State:
    """/help: everything the bot does, in the person's language (works before consent too)."""
    turn = context.turn
    turn.say(views.help_text(turn))
    if not turn.consented:
        views.ask_consent(turn)
    else:
        turn.data["aside"] = True  # the last screen is the help, not the step's
    return turn.state
