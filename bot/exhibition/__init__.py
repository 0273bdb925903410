"""`amanat exhibition build OUT/`: the memory book's static site, from approved, consented stories only.

The site is plain files any web server (or a browser opening them from disk) can show::

    OUT/index.html                    the language choice (and a link to the default language)
    OUT/<lang>/index.html             every soldier, with the in-browser search
    OUT/<lang>/by-region.html         by region of birth (the gazetteer's regions, as written)
    OUT/<lang>/by-year.html           by year of birth
    OUT/<lang>/soldiers/<slug>.html   one soldier: the reading as read, the families' stories, a gallery
    OUT/media/<story>/<sha256>.<ext>  the photos (already re-encoded without metadata) and PDFs
    OUT/search-index.json             what the search looks in (also as search-index.js for file://)
    OUT/static/                       the style sheet and the small search script (no CDN, no network)

Only :func:`bot.services.stories.publishable` stories are read: approved, consented to publication
(``named`` or ``anonymous``) and not withdrawn; an anonymous story never shows the family's name. The
site is written to a new folder next to OUT and swapped in whole, so a withdrawn story is gone after
the next build and a half-written site is never served. OUT is only replaced when it is empty or holds
an earlier build (its ``.amanat-exhibition`` marker): nothing else is ever deleted.

The pages are Jinja2 templates shipped as package data (``bot/exhibition/templates``), autoescaped;
the chrome is the ``exhibition.*`` messages of the catalogs in ru, kk and en.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.i18n import LANGUAGES, Translator, translator
from bot.search.gazetteer import place_profile
from bot.services.stories import READING_FIELDS, StoryView, family_shown, publishable
from bot.services.story_files import StoryStore
from models import Database

MARKER: Final = ".amanat-exhibition"
STATIC_FILES: Final = ("style.css", "search.js")
_YEAR: Final = re.compile(r"\b(1[89]\d\d)\b")


class ExhibitionError(Exception):
    """The site cannot be built: ``code`` (``cli.exhibition.error.<code>`` in the catalogs) and its
    arguments say why."""

    def __init__(self, code: str, **args: object) -> None:
        super().__init__(code)
        self.code = code
        self.args_ = args


@dataclass(frozen=True)
class Picture:
    kind: str  # "photo" or "pdf"
    src: str  # relative to the site's root, e.g. media/3/<sha>.jpg
    caption: str


@dataclass(frozen=True)
class Told:
    """One family's story on a soldier's page."""

    story_id: int
    text: str
    family: str | None  # None: anonymous
    pictures: list[Picture]


@dataclass
class Soldier:
    """One page: a registry reading (several families' stories may be about him) or a family's soldier."""

    slug: str
    name: str
    fields: list[tuple[str, str]]  # (field key, value as read), for the table
    from_registry: bool
    year: int | None
    region_id: str | None
    region_name: str | None
    stories: list[Told] = field(default_factory=list)

    def search_entry(self) -> dict[str, Any]:
        words = [self.name, *(value for _, value in self.fields)]
        for told in self.stories:
            words.append(told.text)
            words.extend(picture.caption for picture in told.pictures)
            if told.family:
                words.append(told.family)
        return {
            "url": f"soldiers/{self.slug}.html",
            "name": self.name,
            "year": self.year,
            "region": self.region_name,
            "text": " ".join(word for word in words if word).casefold(),
        }


@dataclass(frozen=True)
class BuildReport:
    out: Path
    soldiers: int
    stories: int
    files: int


def _year(value: Any) -> int | None:
    match = _YEAR.search(str(value or ""))
    return int(match.group(1)) if match else None


def _slug(story: StoryView) -> str:
    if story.reading_id:
        return "r-" + hashlib.sha256(story.reading_id.encode("utf-8")).hexdigest()[:12]
    return f"s-{story.id}"


def _soldier_of(story: StoryView) -> Soldier:
    source = story.reading or story.soldier
    birthplace = str(source.get("birthplace") or "")
    regions = place_profile(birthplace).regions if birthplace else ()
    region_id, region_name = (regions[0][0], regions[0][1]) if regions else (None, None)
    if story.reading:
        keys = [key for key in READING_FIELDS if story.reading.get(key)]
        fields_ = [(key, str(story.reading[key])) for key in keys]
    else:
        fields_ = [(key, str(value)) for key, value in story.soldier.items() if value not in (None, "")]
    return Soldier(
        slug=_slug(story),
        name=story.soldier_name or "?",
        fields=fields_,
        from_registry=story.reading is not None,
        year=_year(source.get("birth_year")),
        region_id=region_id,
        region_name=region_name or (birthplace or None),
    )


async def _copy_media(storage: StoryStore, story: StoryView, root: Path) -> tuple[list[Picture], int]:
    """The story's files copied under ``root/media``; a file missing or changed on disk is left out."""
    pictures: list[Picture] = []
    copied = 0
    for item in story.items:
        try:
            data = await storage.read(item.path)
        except (OSError, ValueError):
            continue
        if hashlib.sha256(data).hexdigest() != item.sha256:
            continue
        extension = "pdf" if item.kind == "pdf" else "jpg"
        relative = f"media/{story.id}/{item.sha256}.{extension}"
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        copied += 1
        pictures.append(Picture(item.kind, relative, item.caption))
    return pictures, copied


def _paragraphs(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n\s*\n|\n", text) if part.strip()]


def environment() -> Environment:
    """The Jinja2 environment of the site's templates (package data), HTML autoescaped."""
    env = Environment(
        loader=PackageLoader("bot.exhibition", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["paragraphs"] = _paragraphs
    return env


def _grouped(soldiers: Iterable[Soldier], key: str) -> list[tuple[Any, list[Soldier]]]:
    groups: dict[Any, list[Soldier]] = defaultdict(list)
    names: dict[Any, str | None] = {}
    for soldier in soldiers:
        if key == "year":
            groups[soldier.year].append(soldier)
        else:
            group = soldier.region_id or None
            groups[group].append(soldier)
            names.setdefault(group, soldier.region_name if group else None)
    ordered = sorted(groups, key=lambda k: (k is None, str(names.get(k) or k or "")))
    if key == "year":
        ordered = sorted(groups, key=lambda k: (k is None, k or 0))
        return [(year, groups[year]) for year in ordered]
    return [(names.get(group), groups[group]) for group in ordered]


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExhibitionError("out_file", out=out)
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ExhibitionError("not_empty", out=out)
    if not out.parent.is_dir():
        raise ExhibitionError("no_parent", folder=out.parent)


def _write_site(root: Path, soldiers: list[Soldier], default_language: str) -> None:
    env = environment()
    static = root / "static"
    static.mkdir(parents=True)
    package = Path(__file__).resolve().parent / "static"
    for name in STATIC_FILES:
        shutil.copyfile(package / name, static / name)
    index = [soldier.search_entry() for soldier in soldiers]
    (root / "search-index.json").write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    (root / "search-index.js").write_text(
        "window.AMANAT_SEARCH = " + json.dumps(index, ensure_ascii=False) + ";\n", encoding="utf-8"
    )
    by_region = _grouped(soldiers, "region")
    by_year = _grouped(soldiers, "year")
    for lang in LANGUAGES:
        t: Translator = translator(lang)
        folder = root / lang
        (folder / "soldiers").mkdir(parents=True)
        common: dict[str, Any] = {
            "t": t.plain,
            "lang": lang,
            "languages": LANGUAGES,
            "soldiers": soldiers,
            "count": t.plural("exhibition.count", len(soldiers)),
        }
        pages: dict[str, tuple[str, dict[str, Any]]] = {
            "index.html": ("index.html", {"page": "index.html", "up": ""}),
            "by-region.html": (
                "groups.html",
                {"page": "by-region.html", "up": "", "groups": by_region, "kind": "region"},
            ),
            "by-year.html": (
                "groups.html",
                {"page": "by-year.html", "up": "", "groups": by_year, "kind": "year"},
            ),
        }
        for name, (template, extra) in pages.items():
            html = env.get_template(template).render(**common, **extra)
            (folder / name).write_text(html, encoding="utf-8")
        for soldier in soldiers:
            page = f"soldiers/{soldier.slug}.html"
            html = env.get_template("soldier.html").render(**common, soldier=soldier, page=page, up="../")
            (folder / page).write_text(html, encoding="utf-8")
    html = env.get_template("root.html").render(
        t=translator(default_language).plain,
        lang=default_language,
        languages=LANGUAGES,
        names={lang: translator(lang).plain("exhibition.title") for lang in LANGUAGES},
    )
    (root / "index.html").write_text(html, encoding="utf-8")
    (root / MARKER).write_text("built by amanat exhibition build\n", encoding="utf-8")


async def build_exhibition(
    db: Database, storage: StoryStore, out: Path, *, default_language: str
) -> BuildReport:
    """Build the site into ``out`` (replacing an earlier build whole) from publishable stories only."""
    _check_out(out)
    found = await publishable(db)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        soldiers: dict[str, Soldier] = {}
        files = 0
        for story in found:
            soldier = soldiers.get(_slug(story)) or _soldier_of(story)
            soldiers[soldier.slug] = soldier
            pictures, copied = await _copy_media(storage, story, partial)
            files += copied
            soldier.stories.append(Told(story.id, story.text, family_shown(story), pictures))
        ordered = sorted(soldiers.values(), key=lambda s: (s.name.casefold(), s.slug))
        _write_site(partial, ordered, default_language)
        if out.exists():
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            partial.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BuildReport(out, len(soldiers), len(found), files)
