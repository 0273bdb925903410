"""The installed package, not the checkout: `pip install .` (as the Dockerfile does) must carry the
catalogs, the bundled sample registry and the migrations, or the bot fails at its first message."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


SOURCES = (
    "pyproject.toml",
    "README.md",
    "bot",
    "botapi_standin",
    "handlers",
    "models",
    "migrations",
    "locales",
)


def test_the_wheel_carries_every_file_of_the_packages_catalogs_data_and_migrations_included(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"  # a copy: a build/ left in the checkout would hide what is missing
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("amanat-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {  # every file of the packages: code, catalogs, data, templates, the board's static files
        path.relative_to(source).as_posix()
        for name in SOURCES
        if (source / name).is_dir()
        for path in (source / name).rglob("*")
        if path.is_file() and path.suffix != ".mmd"  # .mmd: the state diagrams, documentation
    }
    assert {
        "locales/kk/LC_MESSAGES/amanat.po",
        "bot/data/sample_registry.csv",
        "migrations/env.py",
    } <= shipped
    assert shipped <= names, sorted(shipped - names)
