"""The memory book's files in an S3-compatible bucket (AWS S3, MinIO, Yandex Object Storage, …).

Objects are named ``<prefix><story id>/<sha256>.<jpg|pdf>``, the same relative names the directory store
uses, so the database keeps one kind of name whichever store is configured. The client is boto3, imported
only when a bucket is configured (it is the optional extra ``amanat[s3]``; a bot without S3 starts without
it). boto3's calls block, so each one runs in a worker thread (``asyncio.to_thread``); a low-level boto3
client may be shared by threads.

Errors: a missing object is :class:`FileNotFoundError` (as for a file), anything that says the store
itself cannot be used (no such bucket, refused credentials, an endpoint that does not answer) is a
:class:`~bot.services.story_files.StoreError` with one line naming the setting to look at. The secret key
is handed to the client and nowhere else: never in a message, a log line or :meth:`S3Store.describe`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, TypeVar

from bot.config import S3_SECRET_ENV, S3Config
from bot.services.story_files import STORED_NAME, Prepared, StoreError, stored_name

T = TypeVar("T")

CONTENT_TYPES: Final = {"jpg": "image/jpeg", "pdf": "application/pdf"}
MISSING: Final = frozenset({"404", "NoSuchKey", "NotFound"})
REFUSED: Final = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
)


class S3Store:
    """A bucket (and a prefix in it) holding the memory book's files; see the module's docstring."""

    def __init__(
        self, config: S3Config, client: Any, client_error: type[Exception], library_error: type[Exception]
    ):
        self.config = config
        self._client = client
        self._client_error = client_error  # botocore.exceptions.ClientError: the store answered "no"
        self._library_error = library_error  # botocore.exceptions.BotoCoreError: no answer, no credentials

    @classmethod
    def connect(cls, config: S3Config) -> S3Store:
        """A store for ``config`` (no request is made yet: :meth:`check` makes the first)."""
        try:
            import boto3.session  # only when S3 is configured: the extra amanat[s3]
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise StoreError(
                "stories.s3.bucket is set but the S3 client is not installed: pip install 'amanat[s3]' "
                "(or leave stories.s3.bucket empty to keep the files in stories.storage_dir)"
            ) from None
        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {"addressing_style": config.addressing_style},
            "retries": {"max_attempts": 3, "mode": "standard"},
            "connect_timeout": 10,
            "read_timeout": 60,
            # Checksums only where the API requires them: several S3-compatible stores refuse the newer
            # default ones.
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        }
        keys: dict[str, str] = {}
        if config.access_key_id:
            keys = {
                "aws_access_key_id": config.access_key_id,
                "aws_secret_access_key": config.secret_access_key.get_secret_value(),
            }
        try:
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=config.endpoint_url or None,
                region_name=config.region or None,
                config=Config(**options),
                **keys,
            )
        except (BotoCoreError, ValueError) as error:  # e.g. an endpoint or a region it cannot use
            raise StoreError(
                f"stories.s3: the S3 client refused the settings ({type(error).__name__})"
            ) from None
        return cls(config, client, ClientError, BotoCoreError)

    # ------------------------------------------------------------------ names and errors

    def key_of(self, relative: str) -> str:
        """The object key of a stored relative name (refusing a name the stores never write)."""
        if not STORED_NAME.fullmatch(relative):
            raise ValueError(f"not a stored file name: {relative!r}")
        return self.config.prefix + relative

    def describe(self) -> str:
        where = self.config.endpoint_url or "AWS S3"
        return f"S3 bucket {self.config.bucket} at {where}" + (
            f", prefix {self.config.prefix}" if self.config.prefix else ""
        )

    def _code(self, error: Exception) -> str:
        response = getattr(error, "response", {}) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return code if code and not code.isdigit() else status or code

    def _store_error(self, error: Exception) -> StoreError:
        """One line for the administrator, naming the setting to look at (never a secret)."""
        bucket, where = self.config.bucket, self.config.endpoint_url or "AWS S3"
        if isinstance(error, self._client_error):
            code = self._code(error)
            if code in REFUSED:
                return StoreError(
                    f"{where} refused the credentials for bucket {bucket} ({code}): check "
                    f"stories.s3.access_key_id and env {S3_SECRET_ENV}"
                )
            if code in {"NoSuchBucket", *MISSING}:
                return StoreError(f"no bucket {bucket} at {where} (setting stories.s3.bucket)")
            return StoreError(f"{where} answered {code} for bucket {bucket}")
        name = type(error).__name__
        if name == "NoCredentialsError":
            return StoreError(
                f"no credentials for bucket {bucket}: set stories.s3.access_key_id and env {S3_SECRET_ENV}"
            )
        return StoreError(
            f"cannot reach {where} for bucket {bucket} ({name}; setting stories.s3.endpoint_url)"
        )

    async def _call(self, work: Callable[..., T], **arguments: Any) -> T:
        try:
            return await asyncio.to_thread(work, Bucket=self.config.bucket, **arguments)
        except self._client_error as error:
            if self._code(error) in MISSING and "Key" in arguments:
                raise FileNotFoundError(arguments["Key"]) from None
            raise self._store_error(error) from None
        except self._library_error as error:
            raise self._store_error(error) from None

    # ------------------------------------------------------------------ the store

    async def check(self) -> None:
        await self._call(self._client.head_bucket)

    async def exists(self, relative: str) -> bool:
        try:
            await self._call(self._client.head_object, Key=self.key_of(relative))
        except FileNotFoundError:
            return False
        return True

    async def save(self, story_id: int, prepared: Prepared) -> str:
        """Upload the file unless an object of that name (that is, of those bytes) is there already."""
        relative = stored_name(story_id, prepared)
        if not await self.exists(relative):
            await self._call(
                self._client.put_object,
                Key=self.key_of(relative),
                Body=prepared.data,
                ContentType=CONTENT_TYPES.get(prepared.extension, "application/octet-stream"),
            )
        return relative

    async def read(self, relative: str) -> bytes:
        key = self.key_of(relative)

        def download(**arguments: Any) -> bytes:
            body = self._client.get_object(**arguments)["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

        return await self._call(download, Key=key)

    async def delete(self, relative: str) -> None:
        await self._call(self._client.delete_object, Key=self.key_of(relative))

    async def delete_story(self, story_id: int) -> None:
        """Every object under ``<prefix><story id>/`` (one request each: a story has few files, and
        DeleteObjects' checksum rules differ between S3-compatible stores)."""
        keys = await self._call(self._story_keys, Prefix=f"{self.config.prefix}{story_id}/")
        for key in keys:
            await self._call(self._client.delete_object, Key=key)

    def _story_keys(self, **arguments: Any) -> list[str]:
        keys: list[str] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(**arguments):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys
