"""Telegram-flavoured HTML → (plain text, message entities), as ``parse_mode="HTML"`` does it.

The bot sends only HTML, so this is the only markup the stand-in parses. Lengths and offsets are in
UTF-16 code units, the unit Telegram counts in. Errors carry Telegram's texts ("Unsupported start tag
…"), so a test sees what the real server would answer.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

JSONDict = dict[str, Any]


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts lengths and offsets in."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


class EntityParseError(ValueError):
    """Markup that Telegram would refuse with "Bad Request: can't parse entities: …"."""


class _TextBuilder:
    """Accumulates plain text and tracks the current position in UTF-16 code units."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _sorted_entities(entities: Iterable[JSONDict | None]) -> list[JSONDict]:
    """Drop empty entities and sort like Telegram: by offset, longer (outer) first.

    Callers list entities in the order they were *opened*, so equal ranges keep outer first.
    """
    return sorted(
        (e for e in entities if e is not None and e["length"] > 0),
        key=lambda e: (e["offset"], -e["length"]),
    )


_HTML_SIMPLE_TAGS: Final[Mapping[str, str]] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_HTML_TAGS: Final = frozenset(_HTML_SIMPLE_TAGS) | {"a", "span", "blockquote", "tg-emoji"}
_HTML_NAMED_ENTITIES: Final[Mapping[str, str]] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY_RE: Final = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[a-zA-Z][a-zA-Z0-9]{0,31});")
_TAG_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ATTR_NAME_CHARS: Final = _TAG_NAME_CHARS | {"_"}


def _decode_html_entity(source: str, index: int) -> tuple[str, int]:
    """Decode the entity at ``source[index] == '&'``; return (character, length consumed)."""
    match = _HTML_ENTITY_RE.match(source, index)
    if match is None:
        raise EntityParseError(
            f"Unescaped '&' at byte offset {_byte_offset(source, index)}: "
            "use &amp; (only &lt; &gt; &amp; &quot; and numeric entities are supported)"
        )
    body = match.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if not (0 < code <= 0x10FFFF) or 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                f"Invalid numeric entity {match.group(0)!r} at byte offset {_byte_offset(source, index)}"
            )
        return chr(code), match.end() - index
    if body not in _HTML_NAMED_ENTITIES:
        raise EntityParseError(
            f'Unsupported HTML entity "{match.group(0)}" at byte offset {_byte_offset(source, index)}'
        )
    return _HTML_NAMED_ENTITIES[body], match.end() - index


def _decode_attribute(raw: str) -> str:
    """Decode entities in an attribute value; a stray ``&`` (as in an unescaped URL) stays as is."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        decoded: tuple[str, int] | None = None
        if raw[i] == "&":
            with contextlib.suppress(EntityParseError):
                decoded = _decode_html_entity(raw, i)
        if decoded is not None:
            out.append(decoded[0])
            i += decoded[1]
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the output
    byte_offset: int
    attrs: dict[str, str]
    slot: int  # index reserved in the entity list, so entities stay in opening order


def _parse_start_tag(source: str, i: int) -> tuple[str, dict[str, str], int]:
    """Parse ``<name attr="v" …>`` at ``source[i] == '<'``; return (name, attrs, index after '>')."""
    n = len(source)
    offset = _byte_offset(source, i)
    j = i + 1
    while j < n and source[j] in _TAG_NAME_CHARS:
        j += 1
    name = source[i + 1 : j].lower()
    if not name:
        raise EntityParseError(f'Unsupported start tag "" at byte offset {offset}: escape "<" as &lt;')
    if name not in _HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    attrs: dict[str, str] = {}
    while True:
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if source[j] == ">":
            return name, attrs, j + 1
        k = j
        while k < n and source[k] in _ATTR_NAME_CHARS:
            k += 1
        attr = source[j:k].lower()
        if not attr:
            raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {offset}')
        j = k
        while j < n and source[j].isspace():
            j += 1
        if j < n and source[j] == "=":
            j += 1
            while j < n and source[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            if source[j] in "\"'":
                quote = source[j]
                end = source.find(quote, j + 1)
                if end < 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
                raw_value = source[j + 1 : end]
                j = end + 1
            else:
                k = j
                while k < n and not source[k].isspace() and source[k] not in "<>\"'`=":
                    k += 1
                raw_value = source[j:k]
                j = k
            attrs[attr] = _decode_attribute(raw_value)
        else:
            attrs[attr] = ""


def _html_entity_for(tag: _OpenTag, end: int) -> JSONDict | None:
    entity: JSONDict = {"offset": tag.start, "length": end - tag.start}
    if tag.name in _HTML_SIMPLE_TAGS:
        entity["type"] = _HTML_SIMPLE_TAGS[tag.name]
        if tag.name == "pre" and tag.attrs.get("_language"):
            entity["language"] = tag.attrs["_language"]
    elif tag.name == "span":
        entity["type"] = "spoiler"
    elif tag.name == "a":
        href = tag.attrs.get("href")
        if not href:
            return None
        match = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if match:
            entity["type"] = "text_mention"
            entity["user"] = {"id": int(match.group(1)), "is_bot": False, "first_name": "user"}
        else:
            entity["type"] = "text_link"
            entity["url"] = href
    elif tag.name == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
    else:  # tg-emoji
        entity["type"] = "custom_emoji"
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    return entity


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into (plain text, entities), as ``parse_mode="HTML"`` does.

    Offsets and lengths of the entities are in UTF-16 code units. Raises
    :class:`EntityParseError` for markup Telegram refuses: unsupported tags, unclosed or mismatched
    tags, a ``<`` that does not start a tag, ``<span>`` without ``class="tg-spoiler"``,
    ``<tg-emoji>`` without ``emoji-id`` and (stricter than Telegram) an ``&`` that is not a
    supported entity.
    """
    out = _TextBuilder()
    entities: list[JSONDict | None] = []
    stack: list[_OpenTag] = []
    i, n = 0, len(source)
    plain_start = 0
    while i < n:
        char = source[i]
        if char not in "<&":
            i += 1
            continue
        if plain_start < i:
            out.add(source[plain_start:i])
        if char == "&":
            decoded, used = _decode_html_entity(source, i)
            out.add(decoded)
            i += used
        elif source.startswith("</", i):
            offset = _byte_offset(source, i)
            end = source.find(">", i)
            if end < 0:
                raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
            name = source[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f'Unexpected end tag "{name}" at byte offset {offset}')
            if stack[-1].name != name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1].name}>", '
                    f'found "</{name}>"'
                )
            tag = stack.pop()
            entities[tag.slot] = _html_entity_for(tag, out.pos)
            i = end + 1
        else:
            offset = _byte_offset(source, i)
            name, attrs, i = _parse_start_tag(source, i)
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
            if name == "tg-emoji" and not attrs.get("emoji-id"):
                raise EntityParseError(
                    f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
                )
            if name == "code" and stack and stack[-1].name == "pre":
                language = attrs.get("class", "")
                if language.startswith("language-"):
                    stack[-1].attrs["_language"] = language.removeprefix("language-")
            stack.append(_OpenTag(name, out.pos, offset, attrs, len(entities)))
            entities.append(None)
        plain_start = i
    if plain_start < n:
        out.add(source[plain_start:])
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.text(), _sorted_entities(entities)
