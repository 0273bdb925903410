"""The command line's words: its language and its messages, plain text from the same gettext catalogs.

The administrator's language is ``--lang``, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: e.g.
``ru_RU.UTF-8``), else English. Messages are the ``cli.*`` keys of ``locales/*/LC_MESSAGES/cli.po``
(plural forms by each language's rule, through gettext's ``ngettext``); the bot's own messages (a name's
or a year's problem, a search reason) are reused as plain text, without their HTML.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Final

from bot.i18n import FALLBACK_LANGUAGE, ReasonLike, load_translations, pick_language, translator

__all__ = ["CliText", "cli_language", "cli_text", "plain_text"]

LOCALE_VARIABLES: Final = ("LC_ALL", "LC_MESSAGES", "LANG")
_TAG: Final = re.compile(r"<[^>]+>")


def cli_language(chosen: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``chosen`` (``--lang``), else the language of the locale if it is ru, kk or en, else English."""
    if chosen:
        return pick_language(chosen) or FALLBACK_LANGUAGE
    env = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = env.get(name)
        if value:  # the first one set decides, as in the C library (C or POSIX: no language)
            return pick_language(value.split(".", 1)[0]) or FALLBACK_LANGUAGE
    return FALLBACK_LANGUAGE


def plain_text(message: str) -> str:
    """A bot message (Telegram HTML) as terminal text: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", message))


class CliText:
    """The command line's messages in one language: ``t(key, …)``, ``t.plural(key, n, …)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._catalog = load_translations(lang)
        self._fallback = load_translations(FALLBACK_LANGUAGE) if lang != FALLBACK_LANGUAGE else None

    def __call__(self, key: str, /, **args: object) -> str:
        text = self._catalog.gettext(key)
        if text == key and self._fallback is not None:
            text = self._fallback.gettext(key)
        return text.format_map({name: str(value) for name, value in args.items()})

    def plural(self, key: str, n: int, /, **args: object) -> str:
        """The form of ``key`` for ``n`` by the language's plural rule; ``n`` is passed as ``n``."""
        text = self._catalog.ngettext(key, key, n)
        if text == key and self._fallback is not None:
            text = self._fallback.ngettext(key, key, n)
        return text.format_map({"n": n, **{name: str(value) for name, value in args.items()}})

    def has(self, key: str) -> bool:
        """Whether this language's catalog (or the fallback) has ``key``."""
        found = self._catalog.gettext(key) != key
        return found or (self._fallback is not None and self._fallback.gettext(key) != key)

    def bot(self, key: str, /, **args: object) -> str:
        """One of the bot's messages (e.g. ``error.markup``) as plain text."""
        return plain_text(translator(self.lang)(key, **args))

    def reason(self, reason: ReasonLike) -> str:
        """A search engine reason in words, as the bot gives it, as plain text."""
        return plain_text(translator(self.lang).reason(reason))


@cache
def cli_text(lang: str) -> CliText:
    """The shared :class:`CliText` of ``lang``."""
    return CliText(lang)
