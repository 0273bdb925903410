"""`amanat run` checks its database before serving anyone: it takes writes, and it is not a registry
that was deleted and silently created again empty (both refused with one line, exit code 2)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from botapi_standin import BotApiStandIn
from tests.amanat_process import amanat_env, refused, start, wait_for_call


async def test_a_deleted_sqlite_registry_is_not_silently_replaced_by_an_empty_one(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    db_path = tmp_path / "amanat.db"
    env = amanat_env(f"sqlite:///{db_path}", api)
    loaded = subprocess.run(
        [sys.executable, "-m", "bot", "demo-data"], env=env, cwd=tmp_path, capture_output=True, timeout=180
    )
    assert loaded.returncode == 0, loaded.stderr
    first = start(["run"], env, tmp_path, name="first")
    try:
        await wait_for_call(api, "getUpdates", 0, first)
        first.popen.send_signal(signal.SIGTERM)
        assert await first.wait() == 0
    finally:
        first.stop()

    for leftover in tmp_path.glob("amanat.db*"):  # the file is lost (the bot is stopped meanwhile)
        if leftover.name != "amanat.db.last-seen":
            leftover.unlink()
    polls = len(api.calls_of("getUpdates"))
    second = await refused(["run"], env, tmp_path, name="second")
    line = second.last_line()
    assert line.startswith(f"amanat: the database {db_path} is empty, but it held ")
    assert "restore it from a backup" in line and "amanat.db.last-seen" in line
    assert len(api.calls_of("getUpdates")) == polls  # it never served anyone from the empty file

    (tmp_path / "amanat.db.last-seen").unlink()  # the administrator's choice: start afresh
    third = start(["run"], env, tmp_path, name="third")
    try:
        await wait_for_call(api, "getUpdates", polls, third)
    finally:
        third.stop()


async def set_read_only(url: str, read_only: bool) -> None:
    name = make_url(url).database
    admin = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            value = "on" if read_only else "off"
            await connection.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')
            )
    finally:
        await admin.dispose()


async def test_a_database_that_takes_no_writes_is_refused_at_start(
    api: BotApiStandIn, tmp_path: Path, postgres_url: str
) -> None:
    await set_read_only(postgres_url, True)
    try:
        process = await refused(["run"], amanat_env(postgres_url, api), tmp_path)
    finally:
        await set_read_only(postgres_url, False)
    line = process.last_line()
    assert "takes no writes" in line and "AMANAT_DATABASE__URL" in line
    assert not api.calls_of("getUpdates")


async def test_a_sqlite_file_deleted_under_the_running_bot_stops_it_loudly(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    db_path = tmp_path / "amanat.db"
    env = amanat_env(f"sqlite:///{db_path}", api)
    process = start(["run"], env, tmp_path)
    try:
        await wait_for_call(api, "getUpdates", 0, process)
        db_path.unlink()  # SQLite would go on writing into the deleted file, losing everything since
        assert await process.wait() == 2
    finally:
        process.stop()
    assert process.last_line() == (
        f"amanat: the database file {db_path} was deleted or replaced while the bot ran; it stopped so "
        "that no more answers go into the deleted file: restore the file from a backup, then start it again"
    )


async def test_a_read_only_sqlite_file_is_refused_at_start(api: BotApiStandIn, tmp_path: Path) -> None:
    db_path = tmp_path / "amanat.db"
    env = amanat_env(f"sqlite:///{db_path}", api)
    made = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, cwd=tmp_path, timeout=120)
    assert made.returncode == 0
    # chmod does not stop root (the test may run as root); the immutable flag stops everyone
    if subprocess.run(["chattr", "+i", str(db_path)], capture_output=True, check=False).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        process = await refused(["run"], env, tmp_path)
    finally:
        subprocess.run(["chattr", "-i", str(db_path)], check=False)
    line = process.last_line()
    assert line == (
        f"amanat: the SQLite file {db_path} is read-only: check its and its folder's permissions and owner "
        "(setting database.url, env AMANAT_DATABASE__URL)"
    )
    assert not api.calls_of("getUpdates")
