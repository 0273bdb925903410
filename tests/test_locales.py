"""The translation catalogs are complete and consistent in ru, kk and en.

Fails on: a key missing or empty (or fuzzy) in any language; a key used in the code but absent from the
catalogs; a plural form count that does not match the language's plural rule; placeholders that differ
between languages; a message that is not valid Telegram HTML; a reason code of the search engine without
a message; Kazakh that is really Russian.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, catalog_files, read_catalog, translator
from botapi_standin import parse_html

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("bot", "handlers")
# t("key"), t.plain("key"), t.plural("key", …), turn.t("key"), translator(lang)("key")
KEY_USE = re.compile(
    r"""(?:\bt|\.t|\bt\.plain|\bt\.plural|\.t\.plain|\.t\.plural|\))\(\s*["']([a-z][a-z0-9_]*\.[a-z0-9_.]+)["']"""
)
# Kazakh letters that Russian does not have (һ is rare in ordinary text, so it is not required).
KAZAKH_LETTERS = "әғқңөұүі"


def messages(catalog: Catalog) -> dict[str, Message]:
    result: dict[str, Message] = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        result[str(key)] = message
    return result


def forms(message: Message) -> list[str]:
    value = message.string
    if isinstance(value, tuple | list):
        return [str(v) for v in value]
    return [str(value)]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def catalogs() -> dict[str, dict[str, Message]]:
    return {lang: messages(read_catalog(lang)) for lang in LANGUAGES}


def test_every_language_has_the_same_keys(catalogs: dict[str, dict[str, Message]]) -> None:
    reference = set().union(*(set(c) for c in catalogs.values()))
    for lang, catalog in catalogs.items():
        missing = sorted(reference - set(catalog))
        assert not missing, f"{lang}: missing keys {missing}"


def test_no_translation_is_empty_or_fuzzy(catalogs: dict[str, dict[str, Message]]) -> None:
    for lang, catalog in catalogs.items():
        empty = sorted(key for key, message in catalog.items() if not all(f.strip() for f in forms(message)))
        fuzzy = sorted(key for key, message in catalog.items() if message.fuzzy)
        assert not empty, f"{lang}: empty translations {empty}"
        assert not fuzzy, f"{lang}: fuzzy translations {fuzzy}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_forms_follow_the_language_rule(lang: str) -> None:
    expected = get_plural(lang).num_plurals
    assert expected == {"ru": 3, "kk": 2, "en": 2}[lang]
    for path in catalog_files(lang):
        with path.open("rb") as po_file:
            catalog = read_po(po_file, locale=lang)
        assert catalog.num_plurals == expected, f"{path}: header says nplurals={catalog.num_plurals}"
        for message in catalog:
            if message.id and message.pluralizable:
                count = len(forms(message))
                assert count == expected, (
                    f"{path}: {message.id[0]!r} has {count} forms, {lang} needs {expected}"
                )


def test_placeholders_are_the_same_in_every_language(catalogs: dict[str, dict[str, Message]]) -> None:
    for key, english in catalogs["en"].items():
        wanted = set().union(*(placeholders(f) for f in forms(english)))
        for lang in LANGUAGES:
            got = set().union(*(placeholders(f) for f in forms(catalogs[lang][key])))
            if english.pluralizable:
                got |= {"n"}
                wanted = wanted | {"n"}
            assert got == wanted, f"{lang}: {key!r} has placeholders {sorted(got)}, en has {sorted(wanted)}"


def test_every_message_is_valid_telegram_html(catalogs: dict[str, dict[str, Message]]) -> None:
    for lang, catalog in catalogs.items():
        for key, message in catalog.items():
            for form in forms(message):
                filled = form.format_map({name: "x" for name in placeholders(form)})
                try:
                    parse_html(filled)
                except ValueError as error:
                    pytest.fail(f"{lang}: {key!r} is not valid Telegram HTML: {error}")


def keys_used_in_code() -> dict[str, str]:
    used: dict[str, str] = {}
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for match in KEY_USE.finditer(path.read_text(encoding="utf-8")):
                used.setdefault(match.group(1), str(path.relative_to(ROOT)))
    return used


def test_every_key_used_in_code_is_in_the_catalogs(catalogs: dict[str, dict[str, Message]]) -> None:
    used = keys_used_in_code()
    assert len(used) > 50, "the scan for t('…') keys found almost nothing: is the pattern still right?"
    missing = {key: where for key, where in used.items() if key not in catalogs["en"]}
    assert not missing, f"keys used in code but absent from the catalogs: {missing}"


def test_keys_built_at_run_time_exist(catalogs: dict[str, dict[str, Message]]) -> None:
    from handlers.dialogue import COMMANDS
    from handlers.views import QUESTIONS, RECORD_FIELDS

    built = [f"command.{name}" for name in COMMANDS]
    built += [f"language.{lang}" for lang in LANGUAGES]
    built += [f"field.{field}" for field in RECORD_FIELDS]
    built += [f"search.ask_{field}" for field, _ in QUESTIONS]
    built += [f"error.{code}" for code in ("empty", "too_long", "markup", "digits", "no_letters", "symbols")]
    built += [f"error.year_{code}" for code in ("format", "range", "order")]
    built += [f"likelihood.{band}" for band in ("very_likely", "likely", "possible", "unlikely")]
    missing = [key for key in built if key not in catalogs["en"]]
    assert not missing, missing


def test_every_reason_code_has_a_message_with_the_engine_placeholders(
    catalogs: dict[str, dict[str, Message]],
) -> None:
    from bot.search import REASON_CODES

    for code, template in REASON_CODES.items():
        key = f"reason.{code}"
        for lang in LANGUAGES:
            assert key in catalogs[lang], f"{lang}: no message for reason code {code!r}"
            got = placeholders(forms(catalogs[lang][key])[0])
            assert got == placeholders(template), (
                f"{lang}: {key!r} uses {got}, the engine passes {template!r}"
            )


def russian_words(text: str) -> list[str]:
    """Cyrillic words of a message, without markup, placeholders, commands and the example soldier."""
    text = re.sub(r"<[^>]+>|\{[^}]*\}|/\w+|Легкодымов|Лехкодымов|Емельян", " ", text)
    return re.findall(r"[а-яё]{3,}", text.lower())


def test_kazakh_is_kazakh(catalogs: dict[str, dict[str, Message]]) -> None:
    kazakh_text = " ".join(f for message in catalogs["kk"].values() for f in forms(message))
    for letter in KAZAKH_LETTERS:
        assert letter in kazakh_text, f"the Kazakh catalog never uses {letter!r}"
    copied = [
        key
        for key, message in catalogs["kk"].items()
        if forms(message) == forms(catalogs["ru"][key]) and len(russian_words(forms(message)[0])) >= 2
    ]
    assert not copied, f"Kazakh messages identical to Russian: {copied}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translator_escapes_arguments_and_picks_plural_forms(lang: str) -> None:
    t = translator(lang)
    text = t("search.current_value", value="<b>Иванов</b> & *Петров*")
    assert "&lt;b&gt;Иванов&lt;/b&gt; &amp; *Петров*" in text
    parse_html(text)
    one, few, many = t.plural("my.title", 1), t.plural("my.title", 3), t.plural("my.title", 5)
    assert "1" in one and "3" in few and "5" in many
    if lang == "ru":
        assert len({one.replace("1", "#"), few.replace("3", "#"), many.replace("5", "#")}) == 3
        assert t.plural("my.title", 21).replace("21", "#") == one.replace("1", "#")
