"""The memory book's files in an S3-compatible bucket (``stories.s3``), against a real S3 API over HTTP
(moto's server on a free local port): a story told in the chat lands in the bucket and not on disk,
/moderate shows its files from there, /forget deletes the objects; the exhibition build and the export
read the bucket; the secret key never reaches a log or a command's output; a bucket that is missing,
an endpoint that does not answer, a secret in the config file or a missing S3 client stop a command
with one clear line, not a traceback."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from book_data import NAMED_FAMILY, NEVER, amanat, seed
from moto.server import ThreadedMotoServer
from stories_harness import PDF, Book, s3_client, stored_files, stories_in, tell_story

from bot.config import S3_SECRET_ENV, S3Config, Settings
from bot.logs import RedactingFilter, secret_values
from bot.services.story_export import verify_batch
from bot.services.story_files import Prepared, prepare
from bot.services.story_s3 import S3Store
from models import Database

REGION = "eu-central-1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server, on a free port of 127.0.0.1, for this module's tests."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str) -> dict[str, str]:
    """A fresh bucket, and the ``stories.s3`` settings that use it (with a prefix and a secret key)."""
    settings = {
        "endpoint_url": s3_endpoint,
        "bucket": "amanat-" + secrets.token_hex(6),
        "region": REGION,
        "prefix": "memory-book/",
        "addressing_style": "path",
        "access_key_id": "AKIATESTAMANAT",
        "secret_access_key": "s3-secret-" + secrets.token_urlsafe(24),
    }
    s3_client(settings).create_bucket(
        Bucket=settings["bucket"], CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return settings


def s3_env(s3: dict[str, str]) -> dict[str, str]:
    """The same settings as a command's environment (AMANAT_STORIES__S3__…)."""
    return {f"AMANAT_STORIES__S3__{key.upper()}": value for key, value in s3.items()}


def store_of(s3: dict[str, str]) -> S3Store:
    return S3Store.connect(S3Config(**s3))  # type: ignore[arg-type]


def pdf_file() -> Prepared:
    prepared = prepare(PDF, max_bytes=1_000_000, max_side=512)
    assert isinstance(prepared, Prepared)
    return prepared


@pytest.fixture
async def s3_book(registry_url: str, tmp_path: Path, s3: dict[str, str]) -> AsyncIterator[Book]:
    """The real bot with ``stories.s3`` set (and a storage directory it must never use)."""
    harness = Book(registry_url, tmp_path / "storage", s3=s3)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_a_story_told_in_the_chat_lands_in_the_bucket_and_forget_deletes_it(
    s3_book: Book, s3: dict[str, str]
) -> None:
    book = s3_book
    await tell_story(book)  # it checks that four files are kept (here: four objects in the bucket)
    assert not book.storage.exists()  # nothing on disk
    [(story, items)] = await stories_in(book)
    client = s3_client(s3)
    for item in items:
        obj = client.get_object(Bucket=s3["bucket"], Key=s3["prefix"] + item.path)
        data = obj["Body"].read()
        assert hashlib.sha256(data).hexdigest() == item.sha256 and len(data) == item.size
        assert obj["ContentType"] == ("application/pdf" if item.kind == "pdf" else "image/jpeg")
        assert b"SecretCam" not in data
    assert stored_files(book) == sorted(item.path for item in items)

    # A volunteer's /moderate sends the files read from the bucket.
    shown = await book.say(book.erzhan, "/moderate")
    assert [m.method for m in shown] == ["sendPhoto", "sendPhoto", "sendPhoto", "sendDocument", "sendMessage"]
    assert f"№{story.id}" in shown[-1].text

    confirm = (await book.say(book.relative, "/forget"))[-1]
    await book.press(book.relative, confirm, confirm.button_texts()[0])
    assert await stories_in(book) == [] and stored_files(book) == []
    assert book.failed_calls() == []


async def test_the_exhibition_and_the_export_read_the_files_from_the_bucket(
    registry_url: str, tmp_path: Path, s3: dict[str, str]
) -> None:
    db = Database(registry_url)
    try:
        book = await seed(db, store_of(s3))
    finally:
        await db.dispose()
    empty_dir = tmp_path / "storage"  # stories.storage_dir is set but must not be used
    env = s3_env(s3)

    site = tmp_path / "site"
    built = amanat(registry_url, empty_dir, tmp_path, "exhibition", "build", str(site), env_extra=env)
    assert built.returncode == 0, built.stderr
    assert "soldiers: 2, stories: 2, files: 3" in built.stdout
    media = sorted(path for path in (site / "media").rglob("*") if path.is_file())
    assert len(media) == 3 and not (site / "media" / str(book.withdrawn)).exists()
    for path in media:  # the bytes of the bucket, named by their digest
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem

    out = tmp_path / "partner"
    exported = amanat(registry_url, empty_dir, tmp_path, "export", "stories", str(out), env_extra=env)
    assert exported.returncode == 0, exported.stderr
    assert "published 2, removed 3, files 3" in exported.stdout
    [batch] = [path for path in out.iterdir() if path.is_dir()]
    assert verify_batch(batch) == []
    sums = (batch / "SHA256SUMS").read_text(encoding="utf-8")
    assert sum(line.endswith((".jpg", ".pdf")) for line in sums.splitlines()) == 3
    records = [
        json.loads(line) for line in (batch / "stories.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    named = next(r for r in records if r.get("family_name") == NAMED_FAMILY)
    assert [f["caption"] for f in named["files"]] == ["Портрет 1940 года", "Последнее письмо"]
    assert all(
        marker not in (batch / "stories.jsonl").read_text(encoding="utf-8") for marker in NEVER.values()
    )

    assert not empty_dir.exists()
    for result in (built, exported):
        assert s3["secret_access_key"] not in result.stdout + result.stderr


async def test_the_store_saves_once_reads_and_deletes(s3: dict[str, str]) -> None:
    store = store_of(s3)
    await store.check()
    prepared = pdf_file()
    name = await store.save(7, prepared)
    assert name == f"7/{prepared.sha256}.pdf" and await store.exists(name)
    assert await store.save(7, prepared) == name  # the same bytes: the same object, kept once
    assert await store.read(name) == PDF
    other = prepare(PDF.replace(b"Count 0", b"Count 0 "), max_bytes=1_000_000, max_side=512)
    assert isinstance(other, Prepared)
    second = await store.save(7, other)
    kept = await store.save(8, prepared)
    assert s3_keys(s3) == sorted([name, second, kept])
    await store.delete(second)
    await store.delete(second)  # already gone: not an error
    assert not await store.exists(second)
    with pytest.raises(FileNotFoundError):
        await store.read(second)
    with pytest.raises(ValueError):
        await store.read("../7/whatever.pdf")
    await store.delete_story(7)
    assert s3_keys(s3) == [kept]  # story 8 untouched
    assert "amanat-" in store.describe() and s3["secret_access_key"] not in store.describe()


def s3_keys(s3: dict[str, str]) -> list[str]:
    found = s3_client(s3).list_objects_v2(Bucket=s3["bucket"]).get("Contents", [])
    return sorted(item["Key"].removeprefix(s3["prefix"]) for item in found)


async def test_the_secret_key_never_reaches_the_logs(
    s3: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    secret = s3["secret_access_key"]
    # Everything at DEBUG, the S3 client's loggers too (the bot caps them; here they are let through).
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "s3transfer"):
        caplog.set_level(logging.DEBUG, logger=name)
    store = store_of(s3)
    await store.check()
    name = await store.save(3, pdf_file())
    assert await store.read(name) == PDF
    await store.delete_story(3)
    with pytest.raises(FileNotFoundError):
        await store.read(name)
    assert any(record.name.startswith("botocore") for record in caplog.records)  # it did log, at DEBUG
    assert secret not in caplog.text
    for record in caplog.records:
        assert secret not in record.getMessage()
    # And the redaction of the running bot knows it, should anything ever print it.
    settings = Settings(stories={"s3": s3})  # type: ignore[arg-type]
    assert secret in secret_values(settings)
    assert RedactingFilter(secret_values(settings)).redact(f"key={secret}") == "key=<secret>"
    assert secret not in repr(settings) and secret not in str(settings.model_dump())


def test_a_missing_bucket_or_an_unreachable_endpoint_is_one_line_not_a_traceback(
    registry_url: str, tmp_path: Path, s3: dict[str, str]
) -> None:
    storage = tmp_path / "storage"
    missing = s3_env({**s3, "bucket": "no-such-bucket-amanat"})
    result = amanat(
        registry_url, storage, tmp_path, "exhibition", "build", str(tmp_path / "site"), env_extra=missing
    )
    assert result.returncode == 2
    assert "no bucket no-such-bucket-amanat" in result.stderr and "stories.s3.bucket" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "site").exists()

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = s3_env({**s3, "endpoint_url": closed})
    result = amanat(
        registry_url, storage, tmp_path, "export", "stories", str(tmp_path / "out"), env_extra=unreachable
    )
    assert result.returncode == 2
    assert f"cannot reach {closed}" in result.stderr and "stories.s3.endpoint_url" in result.stderr
    assert "Traceback" not in result.stderr

    # The bot itself does not start on a missing bucket (before it polls anyone).
    run_env = {**missing, "AMANAT_TELEGRAM__TOKEN": "123456:" + "A" * 35, "AMANAT_WEB__PORT": "0"}
    result = amanat(registry_url, storage, tmp_path, "run", env_extra=run_env)
    assert result.returncode == 2 and "no bucket no-such-bucket-amanat" in result.stderr
    assert "Traceback" not in result.stderr
    for output in (result.stdout, result.stderr):
        assert s3["secret_access_key"] not in output


def test_bad_s3_settings_are_refused_at_start_with_the_key_named(
    registry_url: str, tmp_path: Path, s3: dict[str, str]
) -> None:
    secret = s3["secret_access_key"]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[stories.s3]\nbucket = "{s3["bucket"]}"\nsecret_access_key = "{secret}"\n', encoding="utf-8"
    )
    result = amanat(
        registry_url, tmp_path / "storage", tmp_path, "exhibition", "build", str(tmp_path / "site")
    )
    assert result.returncode == 2
    assert "stories.s3.secret_access_key: must not be in the config file" in result.stderr
    assert S3_SECRET_ENV in result.stderr and secret not in result.stderr + result.stdout
    config.unlink()

    cases: list[tuple[dict[str, str], str]] = [
        ({"AMANAT_STORIES__S3__BUCKET": "Not_A_Bucket"}, "stories.s3.bucket"),
        (
            {"AMANAT_STORIES__S3__BUCKET": "amanat", "AMANAT_STORIES__S3__ENDPOINT_URL": "minio:9000"},
            "http://",
        ),
        ({"AMANAT_STORIES__S3__ENDPOINT_URL": s3["endpoint_url"]}, "bucket is empty"),
        (
            {"AMANAT_STORIES__S3__BUCKET": "amanat", "AMANAT_STORIES__S3__ACCESS_KEY_ID": "AKIA1"},
            S3_SECRET_ENV,
        ),
    ]
    for env, expected in cases:
        result = amanat(
            registry_url,
            tmp_path / "storage",
            tmp_path,
            "export",
            "stories",
            str(tmp_path / "out"),
            env_extra=env,
        )
        assert result.returncode == 2, env
        assert "invalid configuration" in result.stderr and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_without_the_s3_client_a_configured_bucket_is_one_clear_line(
    registry_url: str, tmp_path: Path, s3: dict[str, str]
) -> None:
    """boto3 is the optional extra ``amanat[s3]``: with a bucket set and boto3 missing, the command says
    what to install (and without a bucket nothing imports it at all)."""
    env: dict[str, Any] = {
        "AMANAT_DATABASE__URL": registry_url,
        "AMANAT_STORIES__STORAGE_DIR": str(tmp_path / "storage"),
        **s3_env(s3),
        "PATH": "/usr/bin:/bin",
    }
    hide_boto3 = "import sys; sys.modules['boto3'] = None; from bot.cli import main; main()"
    args = [sys.executable, "-c", hide_boto3, "--lang", "en", "exhibition", "build", str(tmp_path / "site")]
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "pip install 'amanat[s3]'" in result.stderr and "Traceback" not in result.stderr

    check = "import sys; from bot.cli import main; import bot.app; print('boto3' in sys.modules)"
    plain = {key: value for key, value in env.items() if not key.startswith("AMANAT_STORIES__S3")}
    loaded = subprocess.run(
        [sys.executable, "-c", check], cwd=tmp_path, env=plain, capture_output=True, text=True, timeout=120
    )
    assert loaded.stdout.strip() == "False", loaded.stderr
