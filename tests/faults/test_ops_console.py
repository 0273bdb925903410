"""`amanat console` (its real entry, a process reading stdin) never dies on what is typed or pasted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.amanat_process import amanat_env

TERMINAL_LINE_LIMIT = 4095  # a terminal in canonical mode keeps at most this many bytes of one line


def run_console(tmp_path: Path, typed: bytes) -> subprocess.CompletedProcess[str]:
    raw = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--lang", "en"],
        input=typed,
        env=amanat_env(f"sqlite:///{tmp_path / 'amanat.db'}"),
        cwd=tmp_path,
        capture_output=True,
        timeout=180,
    )
    return subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode("utf-8", "replace"), raw.stderr.decode("utf-8", "replace")
    )


def test_a_long_pasted_cyrillic_line_cut_inside_a_letter_does_not_kill_the_console(tmp_path: Path) -> None:
    pasted = ("Я " + "Легкодымов Емельян " * 120).encode("utf-8")  # about 2,300 letters, 4,300 bytes
    cut = pasted[:TERMINAL_LINE_LIMIT]
    assert cut.decode("utf-8", "replace").endswith("\ufffd")  # the cut falls inside a letter
    typed = b"/start\n1\n/search\n" + cut + b"\n\xd0\n" + "Легкодымов\n/quit\n".encode()
    result = run_console(tmp_path, typed)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "That is too long: at most 1000 characters here." in result.stdout
    assert "Question 2 of 6" in result.stdout  # the surname typed after it was taken
    assert result.stdout.rstrip().endswith("Goodbye.")
