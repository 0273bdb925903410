"""The administrator's command line as a newcomer meets it (issue 17, items 10-15), through the real
`amanat` process: which database a command uses and says it uses, errors that name the right thing, names
checked as the bot checks them, whole help texts, plurals and the administrator's language."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli_text import plain_text
from bot.i18n import translator

REPO = Path(__file__).resolve().parents[2]


class Amanat:
    """Runs `python -m bot …` in a folder of its own, with its own user data directory (XDG_DATA_HOME)."""

    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "data"
        self.home = tmp_path / "home"
        self.home.mkdir()

    @property
    def default_db(self) -> Path:
        return self.data / "amanat" / "amanat.db"

    def __call__(
        self, *args: str, cwd: Path, stdin: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AMANAT_", "LC_", "LANG"))}
        environment.update(
            {
                "PYTHONPATH": str(REPO),
                "HOME": str(self.home),
                "XDG_DATA_HOME": str(self.data),
                "LANG": "C.UTF-8",
                **env,
            }
        )
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=cwd,
            env=environment,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
        )


@pytest.fixture
def amanat(tmp_path: Path) -> Amanat:
    return Amanat(tmp_path)


def folder(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


def files_in(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# ------------------------------------------------------------------ item 10: which database, never a new one


def test_search_and_match_never_create_a_database_and_say_it_is_missing(
    amanat: Amanat, tmp_path: Path
) -> None:
    elsewhere = folder(tmp_path, "elsewhere")
    for command in (("search", "--surname", "Легкодымов"), ("match",)):
        result = amanat(*command, cwd=elsewhere)
        assert result.returncode == 1, result.stderr
        assert f"no database at {amanat.default_db}" in result.stderr
        assert "nothing to read (none was created)" in result.stderr
        assert "—" not in result.stdout
    assert files_in(elsewhere) == [] and not amanat.data.exists()


def test_the_default_database_is_the_same_from_any_folder(amanat: Amanat, tmp_path: Path) -> None:
    here, there = folder(tmp_path, "here"), folder(tmp_path, "there")
    loaded = amanat("demo-data", cwd=here)
    assert loaded.returncode == 0, loaded.stderr
    assert amanat.default_db.is_file()
    found = amanat("search", "--surname", "Легкодымов", "--born", "1904", cwd=there)
    assert found.returncode == 0, found.stderr
    assert "Легкодымов (Лехкодымов) Емельян" in found.stdout
    assert f"database {amanat.default_db}: 400 readings in the registry" in found.stderr
    assert files_in(here) == files_in(there) == []


def test_a_search_of_an_empty_registry_says_so(amanat: Amanat, tmp_path: Path) -> None:
    work = folder(tmp_path, "work")
    url = f"sqlite:///{work / 'empty.db'}"
    assert amanat("db", "upgrade", cwd=work, AMANAT_DATABASE__URL=url).returncode == 0
    result = amanat("search", "--surname", "Легкодымов", cwd=work, AMANAT_DATABASE__URL=url)
    assert result.returncode == 0, result.stderr
    assert f"database {work / 'empty.db'}: 0 readings in the registry" in result.stderr
    assert f"the registry in {work / 'empty.db'} is empty" in result.stderr


# ------------------------------------------------------------------ items 11-13: batch ids, errors, names


@pytest.fixture
def registry(amanat: Amanat, tmp_path: Path) -> Path:
    work = folder(tmp_path, "work")
    assert amanat("demo-data", cwd=work).returncode == 0
    return work


def test_a_batch_error_keeps_the_callers_id(amanat: Amanat, registry: Path) -> None:
    lines = [
        json.dumps({"id": "q3", "name": "Иван"}),
        json.dumps({"name": "Иван"}),
        json.dumps({"id": 7, "surname": "Легкодымов", "birth_year": "3000"}),
    ]
    result = amanat("search", "--batch", "-", cwd=registry, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in out] == ["q3", 2, 7]
    assert out[0]["error"] == "line 1: surname is required"
    assert out[2]["error"].startswith(
        "line 3: birth_year: Soldiers of that war were born between 1860 and 1930"
    )


def test_a_missing_batch_file_is_named_as_the_input_file(amanat: Amanat, registry: Path) -> None:
    result = amanat("search", "--batch", "/nonexistent.jsonl", cwd=registry)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("amanat: input file not found: /nonexistent.jsonl")
    assert "database" not in result.stderr and "Errno" not in result.stderr


def test_an_impossible_year_names_the_flag(amanat: Amanat, registry: Path) -> None:
    result = amanat("search", "--surname", "Легкодымов", "--born", "3000", cwd=registry)
    assert result.returncode == 2
    year = plain_text(translator("en")("error.year_range", low=1860, high=1930))
    assert result.stderr.strip() == f"amanat: --born: {year}"


@pytest.mark.parametrize(("surname", "code"), [("<b>x</b>", "markup"), ("😀", "no_letters")])
def test_names_are_checked_as_the_bot_checks_them(
    amanat: Amanat, registry: Path, surname: str, code: str
) -> None:
    reason = plain_text(translator("en")(f"error.{code}"))
    flag = amanat("search", "--surname", surname, cwd=registry)
    assert flag.returncode == 2 and flag.stdout == ""
    assert flag.stderr.strip() == f"amanat: --surname: {reason}"
    batch = amanat("search", "--batch", "-", cwd=registry, stdin=json.dumps({"id": "b", "surname": surname}))
    [line] = [json.loads(text) for text in batch.stdout.splitlines()]
    assert line == {"id": "b", "error": f"line 1: surname: {reason}", "results": []}


# ------------------------------------------------------------------ item 14: reading it


def test_help_shows_whole_descriptions_and_every_search_flag_is_explained(
    amanat: Amanat, tmp_path: Path
) -> None:
    top = amanat("--help", cwd=tmp_path)
    assert top.returncode == 0
    text = " ".join(top.stdout.split())
    assert "or see and mend the import batches (--status, --finish, --rollback)." in text
    assert "Run the bot (long polling, or a webhook when telegram.webhook_url is set)." in text
    assert not re.search(r"[a-z]\.\.\.$", top.stdout, flags=re.MULTILINE)  # no description cut off
    search = amanat("search", "--help", cwd=tmp_path).stdout
    options = re.findall(r"^  (--[a-z-]+)(?: [A-Z\[][^ ]*)?(.*)$", search, flags=re.MULTILINE)
    flags = {flag for flag, _ in options}
    assert {"--surname", "--draft-office", "--lang", "--limit", "--batch"} <= flags
    assert [flag for flag, described in options if not described.strip()] == []


def test_the_readme_synopsis_names_every_search_flag(amanat: Amanat, tmp_path: Path) -> None:
    search = amanat("search", "--help", cwd=tmp_path).stdout
    flags = set(re.findall(r"^  (--[a-z-]+)", search, flags=re.MULTILINE)) - {"--help"}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    synopsis = " ".join(line for line in readme.splitlines() if line.startswith("| `amanat search"))
    assert sorted(flag for flag in flags if flag not in synopsis) == []


@pytest.mark.parametrize(
    ("lang", "one", "five"),
    [
        ("en", "1 row read (utf-8); 1 new, 0 updated, 0 unchanged, 0 rejected", "5 rows read"),
        (
            "ru",
            "прочитана 1 строка (utf-8); 1 новая, 0 обновлено, 0 без изменений, 0 отклонено",
            "прочитано 5 строк",
        ),
        ("kk", "1 жол оқылды (utf-8); 1 жаңа, 0 жаңартылды, 0 өзгеріссіз, 0 қабылданбады", "5 жол оқылды"),
    ],
)
def test_import_reports_use_the_languages_plural_forms(
    amanat: Amanat, tmp_path: Path, lang: str, one: str, five: str
) -> None:
    work = folder(tmp_path, "work")
    single = work / "one.csv"
    single.write_text("reading_id,surname\nP1,Петров\n", encoding="utf-8")
    several = work / "five.csv"
    several.write_text(
        "reading_id,surname\n" + "".join(f"F{n},Сидоров\n" for n in range(5)), encoding="utf-8"
    )
    result = amanat("--lang", lang, "import", str(single), str(several), cwd=work)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == f"{single}: {one}"
    assert five in second


def test_match_prints_its_summary_once_without_jargon(amanat: Amanat, registry: Path) -> None:
    result = amanat("match", cwd=registry)
    assert result.returncode == 0, result.stderr
    both = result.stdout + result.stderr
    assert both.count("400 new readings checked against 0 active saved searches") == 1
    assert "0 new matches, 0 notifications queued" in result.stdout
    assert "watermark" not in both


# ------------------------------------------------------------------ item 15: the administrator's language


def test_the_locale_or_lang_decides_the_command_lines_language(amanat: Amanat, registry: Path) -> None:
    by_locale = amanat(
        "search", "--surname", "Легкодымов", "--born", "3000", cwd=registry, LANG="kk_KZ.UTF-8"
    )
    kazakh_year = plain_text(translator("kk")("error.year_range", low=1860, high=1930))
    assert by_locale.stderr.strip() == f"amanat: --born: {kazakh_year}"

    found = amanat("--lang", "ru", "search", "--surname", "Легкодымов", "--born", "1904", cwd=registry)
    assert found.returncode == 0, found.stderr
    assert "1. Легкодымов (Лехкодымов) Емельян Тимофеевич, 1904 г. р. [KZ-2019-0142]" in found.stdout
    assert "в реестре 400 записей" in found.stderr

    missing = amanat("--lang", "ru", "search", "--batch", str(registry / "none.jsonl"), cwd=registry)
    assert missing.stderr.strip() == f"amanat: входной файл не найден: {registry / 'none.jsonl'}"

    matched = amanat("match", cwd=registry, LC_ALL="ru_RU.UTF-8")
    assert matched.stdout.startswith("сопоставление: проверено 400 новых записей по 0 активным поискам")


def test_import_rejection_reasons_are_in_the_administrators_language(amanat: Amanat, tmp_path: Path) -> None:
    work = folder(tmp_path, "work")
    path = work / "r.csv"
    path.write_text("reading_id,surname,birth_year\nR1,,1910\nR2,Петров,3000\n", encoding="utf-8")
    result = amanat("--lang", "ru", "import", str(path), "--report", str(work / "rejected.csv"), cwd=work)
    assert result.returncode == 0, result.stderr
    assert "  строка 2: нет фамилии" in result.stderr.splitlines()
    assert (
        "  строка 3: год рождения 3000 невозможен для солдата 1941–1945 годов" in result.stderr.splitlines()
    )
    assert "нет фамилии" in (work / "rejected.csv").read_text(encoding="utf-8")


def test_import_failures_are_in_the_administrators_language(amanat: Amanat, tmp_path: Path) -> None:
    work = folder(tmp_path, "work")
    missing = amanat("--lang", "kk", "import", str(work / "none.csv"), cwd=work)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"amanat: {work / 'none.csv'}: мұндай файл жоқ; ештеңе импортталмады"
    no_batch = amanat("--lang", "ru", "import", "--finish", "999", cwd=work)
    assert no_batch.returncode == 1
    assert no_batch.stderr.strip() == "amanat: пакета импорта 999 нет"
