"""`amanat console`: the real bot in the terminal, offline, driven by piped input."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from dialogue_harness import make_settings

from bot.console import run_console
from bot.services.matching import run_matching_pass
from bot.services.people import give_consent
from bot.services.registry_import import import_file
from bot.services.saved_searches import SearchFields, save_request
from models import Database


async def run(url: str, text: str, lang: str | None) -> str:
    stdout = io.StringIO()
    code = await run_console(make_settings(url), lang, stdin=io.StringIO(text), stdout=stdout)
    assert code == 0
    return stdout.getvalue()


async def test_console_runs_a_whole_search_from_piped_input(registry_url: str) -> None:
    script = "/start\n1\n/search\nЛегкодымов\nЕмельян\n1\n1904\n1\n1\n1\n1\n/quit\nnever read\n"
    out = await run(registry_url, script, "ru")
    assert "you › /start" in out
    assert "bot › Здравствуйте! Я — Аманат." in out
    assert "[1] Согласен(на)" in out
    assert "bot › Спасибо." in out
    assert "Что известно о солдате:" in out
    assert "1. Легкодымов (Лехкодымов) Емельян Тимофеевич" in out
    assert "[1] 📄 Запись 1" in out
    assert "Полная запись 1" in out and "Сайрамский РВК" in out
    assert "never read" not in out
    assert out.rstrip().endswith("До свидания.")


async def test_console_offers_a_language_choice_and_ends_at_end_of_input(registry_url: str) -> None:
    out = await run(registry_url, "/start\n3\n1\n/search Lekhkodymov Emelyan 1904\n", None)
    assert "[3] English" in out
    assert "bot › Hello! I am Amanat." in out
    assert "written in Latin letters" in out
    assert out.rstrip().endswith("Goodbye.")  # the console speaks the language they chose


async def test_console_keeps_the_dialogue_in_the_database_between_runs(registry_url: str) -> None:
    await run(registry_url, "/start\n1\n/search\nЛегкодымов\n", "ru")
    out = await run(registry_url, "Емельян\n", "ru")
    assert "Вопрос 3 из 6" in out


# ------------------------------------------------------------------ issue 17 item 6: the console's language and logs


async def console(url: str, text: str, lang: str | None = None, *, verbose: bool = False) -> str:
    stdout = io.StringIO()
    extra = {"verbose": True} if verbose else {}
    code = await run_console(make_settings(url), lang, stdin=io.StringIO(text), stdout=stdout, **extra)
    assert code == 0
    return stdout.getvalue()


async def test_the_console_keeps_logs_off_the_screen_unless_verbose(registry_url: str) -> None:
    screen = io.StringIO()
    handler = logging.StreamHandler(screen)  # what `amanat` sets up: logs to the terminal
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        await console(registry_url, "/start\n")
        assert screen.getvalue() == ""
        await console(registry_url, "/start\n", verbose=True)
        assert "registry" in screen.getvalue()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_the_console_speaks_the_chosen_language_and_lang_sets_it(registry_url: str) -> None:
    await console(registry_url, "/start\n1\n", "ru")  # agreed in Russian
    out = await console(registry_url, "/help\n", "en")  # --lang en: the person's language now
    assert out.startswith("Amanat — offline console")
    assert "bot › What I can do" in out
    assert out.rstrip().endswith("Goodbye.")
    out = await console(registry_url, "/help\n")  # no --lang: the stored language
    assert out.startswith("Amanat — offline console")


# ------------------------------------------------------------------ issue 17 item 7: notifications in the console


SOLDIER = {
    "reading_id": "T17-0001",
    "surname": "Байжанов",
    "name": "Серик",
    "birth_year": "1915",
    "found_place": "Тверская обл.",
}


async def saved_search_and_a_new_reading(url: str, tmp_path: Path) -> Database:
    db = Database(url)
    await give_consent(db, 1, "ru")  # the console's user
    await save_request(db, 1, SearchFields(surname="Байжанов", name="Серик", birth_year=1915))
    path = tmp_path / "new.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(SOLDIER))
        writer.writeheader()
        writer.writerow(SOLDIER)
    await import_file(db, path)
    return db


async def test_check_in_the_console_matches_and_shows_the_notification(
    registry_url: str, tmp_path: Path
) -> None:
    db = await saved_search_and_a_new_reading(registry_url, tmp_path)
    await db.dispose()
    out = await console(registry_url, "/check\n/check\n")
    assert out.count("Новая запись в реестре по вашему поиску") == 1
    assert "Байжанов" in out
    assert "Новых уведомлений нет." in out  # the second /check: nothing new


async def test_the_console_delivers_what_waits_in_the_outbox_on_start(
    registry_url: str, tmp_path: Path
) -> None:
    db = await saved_search_and_a_new_reading(registry_url, tmp_path)
    try:
        await run_matching_pass(db, make_settings(registry_url))  # `amanat match` without a token
    finally:
        await db.dispose()
    out = await console(registry_url, "")
    assert "Новая запись в реестре по вашему поиску" in out
