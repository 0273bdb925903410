"""Start-up failures of `amanat run` and `amanat match` as an administrator meets them: one line that
names the setting and what to check, exit code 2, and never the token, even at DEBUG."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from botapi_standin import BotApiStandIn
from models import Database
from tests.amanat_process import amanat_env, free_port, refused

REFUSED = "Telegram refused the token (check TELEGRAM_BOT_TOKEN / telegram.base_url)"
WRONG_TOKEN = "123456:AAE-wrong-but-secret-Qx7Zb9"


@pytest.mark.parametrize("command", ["run", "match"])
async def test_a_refused_token_is_one_line_and_never_printed(
    api: BotApiStandIn, tmp_path: Path, command: str
) -> None:
    if command == "match":  # it only reads: the database must be there already (it never makes one)
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'amanat.db'}")
        await database.upgrade()
        await database.dispose()
    env = amanat_env(
        f"sqlite:///{tmp_path / 'amanat.db'}",
        api,
        AMANAT_TELEGRAM__TOKEN=WRONG_TOKEN,
        AMANAT_LOG__LEVEL="DEBUG",
    )
    process = await refused([command], env, tmp_path)
    assert process.last_line() == f"amanat: {REFUSED}"
    assert api.calls_of("getMe"), "the stand-in was asked, and refused"
    output = process.output()
    assert "DEBUG" in output  # the test ran at DEBUG, where PTB logs its Bot API URL
    assert WRONG_TOKEN not in output
    assert WRONG_TOKEN.partition(":")[2] not in output


async def test_a_valid_token_at_a_wrong_base_url_is_refused_without_printing_it(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    wrong_path = api.base_url.removesuffix("/bot") + "/telegram/bot"  # a proxy path someone mistyped
    env = amanat_env(
        f"sqlite:///{tmp_path / 'amanat.db'}",
        api,
        AMANAT_TELEGRAM__BASE_URL=wrong_path,
        AMANAT_LOG__LEVEL="DEBUG",
    )
    process = await refused(["run"], env, tmp_path)
    # (PTB logs the 404 page it could not read as JSON first; the last line says what to check)
    assert process.stderr().strip().splitlines()[-1] == f"amanat: {REFUSED}"
    assert api.token not in process.output()


async def expect_database_line(tmp_path: Path, db_url: str, *expected: str) -> None:
    env = amanat_env(db_url, None, AMANAT_TELEGRAM__TOKEN="123456:never-used", AMANAT_LOG__LEVEL="DEBUG")
    process = await refused(["run"], env, tmp_path)
    line = process.last_line()
    assert line.startswith("amanat: ")
    assert "database.url" in line and "AMANAT_DATABASE__URL" in line
    for part in expected:
        assert part in line, line


async def test_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "amanat.db"
    await expect_database_line(tmp_path, f"sqlite:///{missing}", str(missing), "folder exist")


async def test_a_postgresql_port_where_nothing_listens(tmp_path: Path) -> None:
    port = free_port()
    await expect_database_line(
        tmp_path, f"postgresql://amanat:pw@127.0.0.1:{port}/amanat", f"127.0.0.1:{port}", "PostgreSQL running"
    )


def postgres_server() -> str:
    url = os.environ.get("AMANAT_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("AMANAT_TEST_POSTGRES_URL is not set")
    return url


async def test_a_missing_postgresql_database(tmp_path: Path) -> None:
    server = postgres_server().rsplit("/", 1)[0]
    await expect_database_line(tmp_path, f"{server}/amanat_no_such_db", "no database 'amanat_no_such_db'")


async def test_a_missing_postgresql_role(tmp_path: Path) -> None:
    server = postgres_server()
    scheme, _, rest = server.partition("://")
    host_and_db = rest.rpartition("@")[2]
    await expect_database_line(tmp_path, f"{scheme}://amanat_no_such_role@{host_and_db}", "no role")
