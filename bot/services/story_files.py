"""The memory book's files: a photo or a PDF a family sent, checked, made safe and kept on disk.

:func:`prepare` decides from the bytes themselves (never from the name or the type Telegram reports):

* an image Pillow reads (JPEG, PNG, WebP, GIF, BMP, TIFF) is re-encoded as a JPEG: turned upright by its
  EXIF orientation, scaled down to fit ``max_side`` pixels, saved with no metadata at all (EXIF, GPS,
  XMP, ICC, comments are dropped), so where and with what a photo was taken never leaves the family;
* a PDF (``%PDF-`` … ``%%EOF``) is kept byte for byte;
* anything else, an image too large to decode safely, or a file over the size limit is refused with a
  :class:`Refused` code the caller renders in the person's language; nothing is written then.

:class:`StoryStorage` keeps the files under one directory, one folder per story, each named by its
SHA-256; a write goes to a temporary name first and is renamed, so a half-written file is never seen.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

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


class StoryStorage:
    """The storage directory: ``<root>/<story id>/<sha256>.<jpg|pdf>``; paths are stored relative."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, relative: str) -> Path:
        """The file at a stored relative path (refusing one that would leave the root)."""
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"a stored path outside the storage directory: {relative!r}")
        return path

    def save(self, story_id: int, prepared: Prepared) -> str:
        """Write the file (atomically) and return its path relative to the root."""
        folder = self.root / str(story_id)
        folder.mkdir(parents=True, exist_ok=True)
        relative = f"{story_id}/{prepared.sha256}.{prepared.extension}"
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

    def read(self, relative: str) -> bytes:
        return self.path_of(relative).read_bytes()

    def remove(self, relative: str) -> None:
        self.path_of(relative).unlink(missing_ok=True)

    def remove_story(self, story_id: int) -> None:
        """Delete a story's folder and every file in it."""
        shutil.rmtree(self.root / str(story_id), ignore_errors=True)
