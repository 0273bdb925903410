"""Translations: keyed gettext catalogs in ``locales/`` (ru, kk, en) and the :class:`Translator` handlers use.

Catalogs are ordinary ``.po`` files (``locales/<lang>/LC_MESSAGES/amanat.po``, plus any other ``*.po``
there, merged in) that translators' tools open. The msgid of every message is a stable key such as
``search.ask_surname``; the msgstr is the text, with ``{name}`` placeholders (``python-brace-format``). The ``.po`` files are read with Babel and compiled in
memory into a :class:`gettext.GNUTranslations` once per process, so a fresh checkout needs no compile step.

Every bot message is sent with HTML parse mode, so :meth:`Translator.__call__` HTML-escapes every argument
unless it is already ``markupsafe.Markup`` (a fragment the code built from escaped parts; careful:
``Markup + str`` escapes the ``str``, so lines are joined with ``"\n".join`` and wrapped again).
User text can therefore never inject markup or break a message. A language's catalog falls back to the
English one for a key it lacks (``GNUTranslations.add_fallback``).
"""

from __future__ import annotations

import gettext
import html
import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final, Protocol

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup, escape

LOCALES_DIR: Final = Path(__file__).resolve().parent.parent / "locales"
DOMAIN: Final = "amanat"
LANGUAGES: Final = ("ru", "kk", "en")
FALLBACK_LANGUAGE: Final = "en"


class ReasonLike(Protocol):
    """What :meth:`Translator.reason` needs of a search engine reason (``bot.search.Reason``)."""

    @property
    def code(self) -> str: ...

    @property
    def args(self) -> Mapping[str, Any]: ...


def catalog_path(lang: str) -> Path:
    """Where the main ``.po`` catalog of ``lang`` lives."""
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_files(lang: str) -> list[Path]:
    """Every ``.po`` file of ``lang``: the main catalog first, then one per feature (e.g. notifications.po)."""
    folder = LOCALES_DIR / lang / "LC_MESSAGES"
    main = catalog_path(lang)
    return [main, *sorted(path for path in folder.glob("*.po") if path != main)]


def read_catalog(lang: str) -> Catalog:
    """All of ``lang``'s ``.po`` files merged into one Babel catalog (a key defined twice is an error)."""
    merged: Catalog | None = None
    for path in catalog_files(lang):
        with path.open("rb") as po_file:
            catalog = read_po(po_file, locale=lang, domain=DOMAIN)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if not message.id:
                continue
            if message.id in merged:
                raise ValueError(f"{path}: key {message.id!r} is already defined in another catalog")
            merged[message.id] = message
    if merged is None:
        raise FileNotFoundError(catalog_path(lang))
    return merged


def compile_catalog(lang: str) -> gettext.GNUTranslations:
    """Read ``lang``'s ``.po`` files and compile them in memory."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def load_translations(lang: str) -> gettext.GNUTranslations:
    """``lang``'s translations, falling back to English for a missing key (cached per process)."""
    translations = compile_catalog(lang)
    if lang != FALLBACK_LANGUAGE:
        translations.add_fallback(load_translations(FALLBACK_LANGUAGE))
    return translations


def pick_language(code: str | None) -> str | None:
    """Map a Telegram ``language_code`` (``ru``, ``kk``, ``en-GB`` …) to a supported language, else None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


class MissingArgument(KeyError):
    """A catalog message names a placeholder the caller did not pass."""


class Translator:
    """Renders catalog messages in one language; created per update and passed to handlers.

    ``t("search.ask_surname")``, ``t("search.summary_line", field=…, value=…)``,
    ``t.plural("my.title", 3)``, ``t.reason(reason)``. Arguments are HTML-escaped.
    """

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unsupported language {lang!r}; expected one of {LANGUAGES}")
        self.lang = lang
        self._catalog = load_translations(lang)

    def __repr__(self) -> str:
        return f"Translator({self.lang!r})"

    def _template(self, key: str) -> str:
        return self._catalog.gettext(key)

    @staticmethod
    def _format(key: str, template: str, args: Mapping[str, object]) -> Markup:
        safe = {name: escape(value) for name, value in args.items()}
        try:
            return Markup(template.format_map(safe))
        except KeyError as error:
            raise MissingArgument(f"message {key!r} needs argument {error.args[0]!r}") from None

    def __call__(self, key: str, /, **args: object) -> Markup:
        """The message ``key`` with ``args`` (HTML-escaped) put into its placeholders."""
        return self._format(key, self._template(key), args)

    def plain(self, key: str, /, **args: object) -> str:
        """The message as plain text (for button captions and toasts, which are not HTML-parsed)."""
        try:
            return html.unescape(self._template(key)).format_map({name: str(v) for name, v in args.items()})
        except KeyError as error:
            raise MissingArgument(f"message {key!r} needs argument {error.args[0]!r}") from None

    def plural(self, key: str, n: int, /, **args: object) -> Markup:
        """The plural form of ``key`` for ``n`` (the language's own plural rule); ``n`` is passed as ``n``."""
        return self._format(key, self._catalog.ngettext(key, key, n), {"n": n, **args})

    def reason(self, reason: ReasonLike) -> Markup:
        """A search engine reason rendered from the catalog key ``reason.<code>``."""
        return self(f"reason.{reason.code}", **dict(reason.args))

    def has(self, key: str) -> bool:
        """Whether this language's catalog (or the fallback) has ``key``."""
        return self._template(key) != key


@cache
def translator(lang: str) -> Translator:
    """The shared :class:`Translator` for ``lang`` (they are immutable, so one per language is enough)."""
    return Translator(lang)
