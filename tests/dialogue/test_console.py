"""`amanat console`: the real bot in the terminal, offline, driven by piped input."""

from __future__ import annotations

import io

from dialogue_harness import make_settings

from bot.console import run_console


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
    assert out.rstrip().endswith("До свидания.")  # the console speaks the default language (ru)


async def test_console_keeps_the_dialogue_in_the_database_between_runs(registry_url: str) -> None:
    await run(registry_url, "/start\n1\n/search\nЛегкодымов\n", "ru")
    out = await run(registry_url, "Емельян\n", "ru")
    assert "Вопрос 3 из 6" in out
