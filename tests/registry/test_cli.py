"""The `amanat` command line as an administrator uses it: exit codes, reports, search output, migrations."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import sample_registry_path


def amanat(*args: str, db_url: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env["AMANAT_DATABASE__URL"] = db_url
    env["LC_ALL"] = "C.UTF-8"  # the command line speaks the locale's language: English here
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_import_reports_rejected_rows_and_exits_zero(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "reading_id,surname,birth_year\nC1,Иванов,1910\nC2,,1911\nC3,Петров,3000\n", encoding="utf-8"
    )
    result = amanat(
        "import", str(path), "--report", str(tmp_path / "rejected.csv"), db_url=db_url, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "1 new" in result.stdout and "2 rejected" in result.stdout
    assert "line 3: no surname" in result.stderr
    assert "line 4:" in result.stderr
    report = (tmp_path / "rejected.csv").read_text(encoding="utf-8")
    assert ",3," in report and ",4," in report


def test_import_of_missing_file_fails_clearly(tmp_path: Path, db_url: str) -> None:
    result = amanat("import", str(tmp_path / "none.csv"), db_url=db_url, cwd=tmp_path)
    assert result.returncode == 1
    assert "no such file" in result.stderr and "nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_configuration_names_the_key(tmp_path: Path, db_url: str) -> None:
    env_db = db_url
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=tmp_path,
        env={**os.environ, "AMANAT_DATABASE__URL": env_db, "AMANAT_BROADCAST__RATE_PER_SECOND": "fast"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        "broadcast.rate_per_second" in result.stderr and "AMANAT_BROADCAST__RATE_PER_SECOND" in result.stderr
    )


def test_demo_data_then_search_finds_legkodymov(tmp_path: Path, db_url: str) -> None:
    loaded = amanat("demo-data", db_url=db_url, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "rejected" in loaded.stdout
    found = amanat(
        "search", "--surname", "Lekhkodymov", "--name", "Emelyan", "--json", db_url=db_url, cwd=tmp_path
    )
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert results and "Легкодымов" in results[0]["surname"]


def test_batch_search_one_json_line_per_query(tmp_path: Path, db_url: str) -> None:
    assert amanat("demo-data", db_url=db_url, cwd=tmp_path).returncode == 0
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        "\n".join(
            [
                json.dumps({"id": "q1", "surname": "Легкодымова", "name": "Емельяна", "birth_year": 1904}),
                json.dumps({"id": "q2", "surname": "Zzyzxqwerty", "name": "Nobody"}),
                json.dumps({"id": "q3", "name": "no surname"}),
                "not json",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = amanat("search", "--batch", str(queries), "--limit", "3", db_url=db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2", "q3", 4]
    first = lines[0]["results"]
    assert 1 <= len(first) <= 3
    assert first[0]["reading_id"] and 0 <= first[0]["score"] <= 100 and first[0]["strong"] is True
    assert isinstance(first[0]["why"], list) and first[0]["why"]
    assert [r["score"] for r in first] == sorted((r["score"] for r in first), reverse=True)
    assert not any(r["strong"] for r in lines[1]["results"])
    assert "surname" in lines[2]["error"] and "error" in lines[3]


def test_search_returns_fewer_than_the_limit_rather_than_padding(tmp_path: Path, db_url: str) -> None:
    """Only readings with a field that agrees are returned: every one has a reason, and no others pad it."""
    assert amanat("demo-data", db_url=db_url, cwd=tmp_path).returncode == 0
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "q1", "surname": "Құсайынов"}) + "\n", encoding="utf-8")
    result = amanat("search", "--batch", str(queries), "--limit", "30", db_url=db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert 1 <= len(results) < 30
    assert all(r["why"] for r in results), [r for r in results if not r["why"]]
    assert all(r["surname"].startswith("Кусаин") or r["surname"].startswith("Кусайн") for r in results)
    one = amanat("search", "--surname", "Құсайынов", "--limit", "30", "--json", db_url=db_url, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert {r["reading_id"] for r in json.loads(one.stdout)["results"]} == {r["reading_id"] for r in results}


def test_sample_registry_is_bundled() -> None:
    assert sample_registry_path().is_file()


def test_rejected_rows_report_is_csv_whatever_the_file_name(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / 'a "quoted", name.csv'  # a quote and a comma in the file name
    path.write_text('reading_id,surname\nQ1,\nQ2,"Иванов"\n', encoding="utf-8")
    report_path = tmp_path / "rejected.csv"
    result = amanat("import", str(path), "--report", str(report_path), db_url=db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with report_path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["file", "line", "reason"]
    assert [(row[0], row[1]) for row in rows[1:]] == [(str(path), "2")]
