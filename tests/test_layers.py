"""The layers of docs/architecture.md hold: one way, checked by import-linter, and no function-local imports.

The contracts live in pyproject.toml (``[tool.importlinter]``); ``.ci/run`` runs ``lint-imports`` too.
These tests make the README's test command check them as well, prove that the check really fails on a
violation (a copy of the code with one forbidden import), and that our own modules are imported at the top
of every file: a cycle that needs a function-local import is the bug, not the import.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
OUR_PACKAGES = ("bot", "handlers", "models", "botapi_standin")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.skip(f"import-linter is not installed next to {sys.executable} (pip install -e '.[test]')")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        timeout=300,
        check=False,
    )


def test_the_layer_contracts_hold() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_layer_check_fails_on_a_service_that_imports_a_handler(tmp_path: Path) -> None:
    for package in OUR_PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bot" / "services" / "layer_violation.py").write_text(
        '"""A deliberate violation: a service that imports a handler."""\n\nfrom handlers import views\n',
        encoding="utf-8",
    )
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "bot.services.layer_violation -> handlers.views" in result.stdout


def _local_imports_of_ours(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []

    def ours(node: ast.Import | ast.ImportFrom) -> bool:
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        return any(name.split(".")[0] in OUR_PACKAGES for name in names)

    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue  # the top of the file
        for node in ast.walk(statement):
            if isinstance(node, ast.Import | ast.ImportFrom) and ours(node):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_our_modules_are_imported_at_the_top_of_every_file() -> None:
    local = [
        where
        for package in OUR_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for where in _local_imports_of_ours(path)
    ]
    assert local == [], "function-local imports of our modules (a cycle to untangle): " + ", ".join(local)


def _python(code: str) -> str:
    """What a fresh interpreter prints running ``code`` in the checkout."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_command_loads_from_its_module_and_import_does_not_load_the_bot() -> None:
    """`amanat` names each command's module (COMMANDS in bot/cli/__init__.py) and imports it when the
    command runs: `amanat import` pays for the registry only, not for the bot, the board and Telegram
    (about two seconds of every call)."""
    shown = _python(
        "import json, sys; from bot.cli import main; main(['import', '--help'], standalone_mode=False); "
        "heavy = ('bot.app', 'bot.board', 'bot.console', 'telegram'); "
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))"
    )
    assert "--batch-rows" in shown  # the import command's own help
    assert json.loads(shown.strip().splitlines()[-1]) == []
    resolved = _python(
        "import json, click; from bot.cli import COMMANDS, main; ctx = click.Context(main); "
        "print(json.dumps({name: type(main.get_command(ctx, name)).__name__ for name in COMMANDS}))"
    )
    kinds = json.loads(resolved)
    assert sorted(kinds) == sorted(COMMANDS)
    assert set(kinds.values()) <= {"Command", "Group", "WholeHelpGroup"}, kinds
