"""The memory book's files: a photo or a PDF a family sent, checked, made safe and kept on disk.

:func:`prepare` decides from the bytes themselves (never from the name or the type Telegram reports):

* an image Pillow reads (JPEG, PNG, WebP, GIF, BMP, TIFF) is re-encoded as a JPEG: turned upright by its
  EXIF orientation, scaled down to fit ``max_side`` pixels, saved with no metadata at all (EXIF, GPS,
  XMP, ICC, comments are dropped), so where and with what a photo was taken never leaves the family;
* a PDF (``%PDF-`` … ``%%EOF``) is kept byte for byte;
* anything else, an image too large to decode safely, or a file over the size limit is refused with a
  :class:`Refused` code the caller renders in the person's language; nothing is written then.

Where the files are kept is a :class:`StoryStore`: every caller (the /story dialogue, /moderate, /forget,
the exhibition build, the export) saves, reads and deletes through it, by the relative name the database
keeps (``<story id>/<sha256>.<jpg|pdf>``), and never opens a path itself. Two stores exist:
:class:`DirectoryStore` here (one folder per story under ``stories.storage_dir``; a write goes to a
temporary name first and is renamed, so a half-written file is never seen) and
:class:`bot.services.story_s3.S3Store` (an S3-compatible bucket, when ``stories.s3.bucket`` is set);
:func:`bot.services.story_store.open_story_store` picks one from the settings. The methods are coroutines:
file and network calls run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.services.startup import StartupRefused

PHOTO_FORMATS: Final = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"})
MAX_PIXELS: Final = 60_000_000  # decoding more than this is refused (a decompression bomb)
JPEG_QUALITY: Final = 85


class Refused(StrEnum):
    """Why a file was not taken (``stories.refused.<code>`` in the catalogs)."""

    TOO_LARGE = "too_large"
    NOT_SUPPORTED = "not_supported"
    BROKEN = "broken"


@dataclass(frozen=True)
class Prepared:
    """A file ready to be stored: its kind (``photo`` or ``pdf``), bytes, extension and SHA-256."""

    kind: str
    data: bytes
    extension: str
    sha256: str


def _reencode(data: bytes, max_side: int) -> bytes | Refused:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in PHOTO_FORMATS:
                    return Refused.NOT_SUPPORTED
                if image.width * image.height > MAX_PIXELS:
                    return Refused.TOO_LARGE
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                rgb = upright.convert("RGB")  # also drops transparency and palette
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Refused.TOO_LARGE
    except UnidentifiedImageError:
        return Refused.NOT_SUPPORTED
    except (OSError, ValueError, SyntaxError):
        return Refused.BROKEN
    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh image with no info: nothing of the original's metadata (EXIF, GPS, XMP, ICC) is written.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def is_pdf(data: bytes) -> bool:
    """Whether ``data`` is a PDF document (its header, and an end-of-file marker near the end)."""
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]


def prepare(data: bytes, *, max_bytes: int, max_side: int) -> Prepared | Refused:
    """A photo re-encoded without metadata, or a PDF as it is; a :class:`Refused` code otherwise."""
    if len(data) > max_bytes:
        return Refused.TOO_LARGE
    if data.startswith(b"%PDF-"):
        if not is_pdf(data):
            return Refused.BROKEN
        return Prepared("pdf", data, "pdf", hashlib.sha256(data).hexdigest())
    encoded = _reencode(data, max_side)
    if isinstance(encoded, Refused):
        return encoded
    return Prepared("photo", encoded, "jpg", hashlib.sha256(encoded).hexdigest())


# The relative names the stores write (and so the only ones they read or delete).
STORED_NAME: Final = re.compile(r"(?P<story>[0-9]+)/[0-9a-f]{64}\.(?:jpg|pdf)")


def stored_name(story_id: int, prepared: Prepared) -> str:
    """The relative name of a prepared file: ``<story id>/<sha256>.<extension>`` (the same bytes, the same
    name, so saving twice keeps one file)."""
    return f"{story_id}/{prepared.sha256}.{prepared.extension}"


class StoreError(StartupRefused):
    """The store cannot be used (a bucket that does not exist, refused credentials, an endpoint that does
    not answer, the S3 client not installed); the message is one line for the administrator and never
    holds a secret."""


class StoryStore(Protocol):
    """Where the memory book's files are kept. ``relative`` is the name :meth:`save` returned (what the
    database stores); :meth:`read` of a missing file raises :class:`FileNotFoundError`, of a name the
    store never writes :class:`ValueError`, and of an unusable store :class:`StoreError`."""

    async def save(self, story_id: int, prepared: Prepared) -> str:
        """Keep the file (nothing is written when it is there already); its relative name."""
        ...

    async def read(self, relative: str) -> bytes: ...

    async def exists(self, relative: str) -> bool: ...

    async def delete(self, relative: str) -> None:
        """Remove one file (a missing one is not an error)."""
        ...

    async def delete_story(self, story_id: int) -> None:
        """Remove every file of a story."""
        ...

    async def check(self) -> None:
        """Raise :class:`StoreError` unless the store can be used (called before the bot starts)."""
        ...

    def describe(self) -> str:
        """Where the files are, for the administrator (no secret in it)."""
        ...


class DirectoryStore:
    """The storage directory: ``<root>/<story id>/<sha256>.<jpg|pdf>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, relative: str) -> Path:
        """The file at a stored relative path (refusing one that would leave the root). The directory
        store only: callers that may run on S3 use :meth:`read`."""
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"a stored path outside the storage directory: {relative!r}")
        return path

    def _write(self, story_id: int, prepared: Prepared) -> str:
        folder = self.root / str(story_id)
        folder.mkdir(parents=True, exist_ok=True)
        relative = stored_name(story_id, prepared)
        target = self.root / relative
        if target.exists():
            return relative
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(prepared.data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return relative

    async def save(self, story_id: int, prepared: Prepared) -> str:
        """Write the file (atomically) and return its path relative to the root."""
        return await asyncio.to_thread(self._write, story_id, prepared)

    async def read(self, relative: str) -> bytes:
        return await asyncio.to_thread(self.path_of(relative).read_bytes)

    async def exists(self, relative: str) -> bool:
        return await asyncio.to_thread(self.path_of(relative).is_file)

    async def delete(self, relative: str) -> None:
        await asyncio.to_thread(self.path_of(relative).unlink, missing_ok=True)

    async def delete_story(self, story_id: int) -> None:
        """Delete a story's folder and every file in it."""
        await asyncio.to_thread(shutil.rmtree, self.root / str(story_id), ignore_errors=True)

    async def check(self) -> None:
        """Nothing to check before the first file: the folder is made when a story first needs it."""

    def describe(self) -> str:
        return f"directory {self.root}"


# The name the memory book's first version used (and the board may still use for path_of).
StoryStorage = DirectoryStore
