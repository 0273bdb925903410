"""`amanat exhibition build OUT/`: the static site holds approved, consented, not withdrawn stories only,
hides an anonymous family's name, is rebuilt whole (a withdrawal disappears at the next build), and every
page renders in a real headless Chromium with no broken link or image (screenshots in tests/artifacts/)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from book_data import FAMILY, HIDDEN_FAMILY, NAMED_FAMILY, NEVER, Seeded, amanat

from bot.services import stories
from bot.services.story_files import DirectoryStore
from models import Database

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "exhibition"
CHROMIUM = Path("/usr/bin/chromium")


def site_text(out: Path) -> str:
    """Every text file of the site, concatenated (pages, the search index, scripts)."""
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.suffix in (".html", ".json", ".js", ".css")
    )


async def test_the_site_holds_only_approved_consented_stories(
    seeded: tuple[Seeded, DirectoryStore], registry_url: str, tmp_path: Path
) -> None:
    book, storage = seeded
    out = tmp_path / "site"
    result = amanat(registry_url, storage.root, tmp_path, "exhibition", "build", str(out))
    assert result.returncode == 0, result.stderr
    assert "soldiers: 2, stories: 2, files: 3" in result.stdout
    text = site_text(out)
    for marker in NEVER.values():
        assert marker not in text
    assert NAMED_FAMILY in text and HIDDEN_FAMILY not in text
    assert "Прадед писал домой каждую неделю." in text and "Дед Жумабай ушёл из Гурьева" in text
    for lang in ("ru", "kk", "en"):
        assert (out / lang / "index.html").is_file()
        assert (out / lang / "by-region.html").is_file() and (out / lang / "by-year.html").is_file()
        assert len(list((out / lang / "soldiers").glob("*.html"))) == 2
    assert "Книга памяти" in (out / "ru" / "index.html").read_text(encoding="utf-8")
    assert "Естелік кітабы" in (out / "kk" / "index.html").read_text(encoding="utf-8")
    assert "The memory book" in (out / "en" / "index.html").read_text(encoding="utf-8")
    index = json.loads((out / "search-index.json").read_text(encoding="utf-8"))
    assert len(index) == 2
    media = sorted(path.name for path in (out / "media").rglob("*") if path.is_file())
    assert len(media) == 3 and sum(name.endswith(".pdf") for name in media) == 1
    # Only the published stories' files, nothing else of the storage.
    assert not (out / "media" / str(book.withdrawn)).exists()
    soldier_page = next((out / "en" / "soldiers").glob("r-*.html")).read_text(encoding="utf-8")
    assert book.reading_id in soldier_page and "The medallion, as read" in soldier_page
    assert "Портрет 1940 года" in soldier_page and "Document (PDF)" in soldier_page


async def test_a_withdrawal_disappears_at_the_next_build(
    seeded: tuple[Seeded, DirectoryStore], registry_url: str, tmp_path: Path
) -> None:
    book, storage = seeded
    out = tmp_path / "site"
    assert amanat(registry_url, storage.root, tmp_path, "exhibition", "build", str(out)).returncode == 0
    assert "Прадед писал домой" in site_text(out)
    db = Database(registry_url)
    try:
        assert await stories.withdraw(db, FAMILY, book.named) is not None
    finally:
        await db.dispose()
    result = amanat(registry_url, storage.root, tmp_path, "exhibition", "build", str(out))
    assert result.returncode == 0, result.stderr
    text = site_text(out)
    assert "Прадед писал домой" not in text and NAMED_FAMILY not in text
    assert not (out / "media" / str(book.named)).exists()
    assert len(list((out / "ru" / "soldiers").glob("*.html"))) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("site")) == ["site"]


def test_a_folder_that_is_not_an_exhibition_is_never_replaced(registry_url: str, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my own", encoding="utf-8")
    result = amanat(registry_url, tmp_path / "storage", tmp_path, "exhibition", "build", str(out))
    assert result.returncode == 1
    assert "is not empty and holds no earlier exhibition" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


# ------------------------------------------------------------------------------------ in a browser


async def test_every_page_renders_in_chromium_without_broken_links_or_images(
    seeded: tuple[Seeded, DirectoryStore], registry_url: str, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: apt-get install chromium to check the pages in a browser")
    pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    _, storage = seeded
    out = tmp_path / "site"
    assert amanat(registry_url, storage.root, tmp_path, "exhibition", "build", str(out)).returncode == 0
    # Playwright's sync API runs a loop of its own: it is driven from a worker thread.
    problems = await asyncio.to_thread(check_site, out)
    assert problems == []


def check_site(out: Path) -> list[str]:
    """Open every page from disk in Debian's Chromium; every link must lead to a file, every image must
    have loaded; the search finds a soldier by a word of his story. Screenshots go to tests/artifacts/."""
    from playwright.sync_api import sync_playwright  # optional: only where the browser check runs

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            return check_pages(browser, out)
        finally:
            browser.close()


def check_pages(browser: Any, out: Path) -> list[str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    problems: list[str] = []
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    pages = sorted(path for path in out.rglob("*.html"))
    for path in pages:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        name = path.relative_to(out).as_posix().replace("/", "_")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        if not page.title():
            problems.append(f"{name}: no title")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            if href.startswith("file://"):
                target = Path(href.removeprefix("file://").split("#")[0])
                if not target.is_file():
                    problems.append(f"{name}: broken link {href}")
            else:
                problems.append(f"{name}: a link leaves the site: {href}")
        broken = page.eval_on_selector_all(
            "img", "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        problems.extend(f"{name}: broken image {src}" for src in broken)
    problems.extend(f"failed request {url}" for url in failed)
    page.goto((out / "ru" / "index.html").as_uri())
    page.fill("#q", "гурьева")
    found = page.eval_on_selector_all("#results a", "links => links.map(a => a.textContent)")
    page.screenshot(path=str(ARTIFACTS / "search_ru.png"), full_page=True)
    if len(found) != 1:
        problems.append(f"search for a word of a story found {found}")
    page.fill("#q", "нет-такого-слова")
    if not page.is_visible("#no-results"):
        problems.append("search for nothing does not say so")
    page.close()
    return problems
