"""/start, /language, the consent to store personal data, and /help.

Before consent nothing about the person is stored: the chosen language travels inside the consent
buttons' callback data (``ok:kk:y``) instead of a database row.
"""

from __future__ import annotations

from markupsafe import Markup
from telegram import Update

from bot.i18n import LANGUAGES, translator
from bot.services import people
from handlers import buttons
from handlers.runtime import AmanatContext, State, Turn, html_lines


def language_rows() -> list[list[tuple[str, str]]]:
    """One row of language buttons, each named in its own language."""
    return [[(translator(code)(f"language.{code}"), buttons.lang(code)) for code in LANGUAGES]]


def choose_language_text() -> Markup:
    """ "Choose your language" in every language (for someone whose language we do not know)."""
    return html_lines(*(translator(code)("language.choose") for code in LANGUAGES))


def greeting(turn: Turn, lang: str) -> None:
    """The greeting in ``lang``: who we are, what we do, and the consent question with its buttons."""
    t = translator(lang)
    turn.say(
        html_lines(t("start.greeting"), "", t("start.about"), "", t("start.consent")),
        [
            [(t("button.consent_yes"), buttons.consent(lang, True))],
            [(t("button.consent_no"), buttons.consent(lang, False))],
            [(t("button.language"), buttons.lang("any"))],
        ],
    )


def ask_consent(turn: Turn) -> None:
    """Anything before consent: greet in the Telegram language, or offer the choice of language."""
    if turn.telegram_language is None and turn.person is None:
        turn.say(choose_language_text(), language_rows())
    else:
        greeting(turn, turn.t.lang)


def help_text(turn: Turn) -> Markup:
    """The /help text in the person's language."""
    return turn.t("help.text")


async def start(update: Update, context: AmanatContext) -> State:
    """/start: greet a newcomer (language, consent) or welcome back someone who consented."""
    turn = context.turn
    if not turn.consented:
        ask_consent(turn)
        return State.IDLE
    turn.data.clear()
    turn.say(html_lines(turn.t("start.welcome_back"), "", turn.t("start.how_to")))
    return State.IDLE


async def show_languages(update: Update, context: AmanatContext) -> State:
    """/language: offer the three languages (the dialogue stays where it was)."""
    turn = context.turn
    turn.say(choose_language_text(), language_rows())
    return turn.state


async def choose_language(update: Update, context: AmanatContext, code: str) -> State:
    """A language button: switch (and repeat the current question in the new language)."""
    turn = context.turn
    if code == "any":
        return await show_languages(update, context)
    if not turn.consented:
        greeting(turn, code)
        return State.IDLE
    await people.set_language(context.db, turn.user_id, code)
    turn.t = translator(code)
    turn.say(turn.t("language.changed"))
    from handlers.search import repeat_prompt

    repeat_prompt(turn)
    return turn.state


async def consent(update: Update, context: AmanatContext, code: str, yes: bool) -> State:
    """A consent button: store the person (yes) or store nothing and say so (no)."""
    turn = context.turn
    t = translator(code)
    turn.t = t
    if not yes:
        if turn.consented:
            turn.say(t("consent.already"))
            return turn.state
        turn.say(t("consent.declined"), [[(t("button.consent_yes"), buttons.consent(code, True))]])
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
    turn.say(html_lines(t("consent.thanks"), "", t("start.how_to")))
    return State.IDLE


async def show_help(update: Update, context: AmanatContext) -> State:
    """/help: everything the bot does, in the person's language (works before consent too)."""
    turn = context.turn
    turn.say(help_text(turn))
    if not turn.consented:
        ask_consent(turn)
    return turn.state
