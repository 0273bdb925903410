"""The web board in a real browser: headless Chromium from Debian's packages, driven by Playwright,
against the started bot, its real database and the Bot API stand-in.

A volunteer opens the board with signed initData (in the launch parameters, as Telegram passes them),
claims a case and the group's card in the chat changes; a case claimed in the chat shows as taken on the
board; an answer typed on the board reaches the relative; a story of the memory book is read with its
photo (fetched with initData, shown from a blob: URL) and approved, and the family is told. An administrator sees the charts drawn (a
canvas with data points) and switches to Kazakh. Screenshots at 360 px and 1280 px are saved under
``$AMANAT_TEST_ARTIFACTS`` (default tests/artifacts/, git-ignored). Without Chromium or Playwright the
tests are skipped, saying why.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from botapi_standin import SimUser
from tests.board.board_harness import BoardDesk, record_matches, tell_story
from tests.board.test_board_api import open_case
from tests.cases.cases_harness import GROUP, RELATIVE

CHROMIUM = os.environ.get("AMANAT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("AMANAT_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
WAIT_MS = 20_000  # a guard against hangs, never a timing assertion
DARK_THEME = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
}

try:
    from playwright.async_api import Browser, Page, async_playwright
except ImportError:  # pragma: no cover - the skip says why
    async_playwright = None

pytestmark = [
    pytest.mark.skipif(
        async_playwright is None, reason="Playwright is not installed (pip install -e '.[test]')"
    ),
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it when it can)",
    ),
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert async_playwright is not None
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()


def board_url(
    board: BoardDesk, user: SimUser | None, theme: dict[str, str] | None = None, **query: str
) -> str:
    """The board's address as Telegram opens it: launch parameters in the hash."""
    launch: dict[str, str] = {"tgWebAppVersion": "8.0", "tgWebAppPlatform": "tdesktop"}
    if user is not None:
        launch["tgWebAppData"] = board.init_data(user)
    if theme is not None:
        launch["tgWebAppThemeParams"] = json.dumps(theme)
    hash_part = "&".join(f"{key}={quote(value, safe='')}" for key, value in launch.items())
    search = "&".join(f"{key}={value}" for key, value in query.items())
    return f"{board.web_url}/board/{'?' + search if search else ''}#{hash_part}"


async def open_page(browser: Browser, url: str, width: int = 360, height: int = 740) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    return page


async def shows(page: Page, selector: str, has_text: str | None = None) -> None:
    """Wait until the page shows ``selector``; on a time-out say what the page showed and which errors."""
    try:
        await page.locator(selector, has_text=has_text).first.wait_for()
    except Exception as error:
        main = await page.locator("main").inner_text()
        raise AssertionError(f"{selector} never shown; page: {main!r}; errors: {page.errors}") from error  # type: ignore[attr-defined]


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


async def until(condition: Any, what: str) -> None:
    """Wait for something the bot did over the stand-in (polls a condition; bounded against hangs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_MS / 1000
    while not condition():
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


async def test_a_volunteer_claims_and_answers_on_the_board_and_the_chat_follows(
    board: BoardDesk, browser: Browser
) -> None:
    await open_case(board)
    page = await open_page(browser, board_url(board, board.olga, DARK_THEME))
    card = page.locator('button.case[data-case="1"]')
    await card.wait_for()
    assert "Case #1" in await card.inner_text() and "Алия" in await card.inner_text()
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(23, 33, 43)"  # Telegram's dark theme from themeParams
    # Telegram switches to the light theme while the board is open (as the apps tell a Mini App).
    await page.evaluate(
        """Telegram.WebView.receiveEvent('theme_changed',
            {theme_params: {bg_color: '#ffffff', text_color: '#000000', secondary_bg_color: '#f0f0f0'}})"""
    )
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    await page.evaluate(
        f"Telegram.WebView.receiveEvent('theme_changed', {{theme_params: {json.dumps(DARK_THEME)}}})"
    )
    await screenshot(page, "board-cases-360")

    await card.click()
    await page.locator('[data-action="claim"]').click()
    await page.locator('.detail .badge[data-status="claimed"]').wait_for()
    await until(
        lambda: board.api.messages(GROUP)[-1].text.startswith("✅ Обращение №1 взял(а) Olga"),
        "the group's card says Olga took case 1",
    )
    assert any("Волонтёр взял ваше обращение №1" in m.text for m in board.api.messages(RELATIVE))

    await page.locator(".detail textarea").fill("We found the unit's report, writing to you now.")
    await page.locator('[data-action="answer"]').click()
    await page.locator('.detail .badge[data-status="answered"]').wait_for()
    await until(
        lambda: "unit's report" in board.api.messages(RELATIVE)[-1].text,
        "the relative got the answer",
    )
    assert "Olga" not in board.api.messages(RELATIVE)[-1].text
    await screenshot(page, "board-case-360")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_volunteer_approves_a_story_on_the_board_and_the_family_is_told(
    board: BoardDesk, browser: Browser
) -> None:
    await tell_story(board)
    page = await open_page(browser, board_url(board, board.olga, tab="stories"))
    await shows(page, 'section.story[data-story="1"]')
    story = page.locator('section.story[data-story="1"]')
    assert "Story #1" in await story.inner_text() and "Мой прадед ушёл на фронт" in await story.inner_text()
    assert "without the family's name" in await story.inner_text()
    photo = page.locator("figure.file img")
    await page.wait_for_function("() => { const i = document.querySelector('figure.file img'); "
                                 "return i && i.complete && i.naturalWidth > 0; }")  # fmt: skip
    assert (await photo.get_attribute("src") or "").startswith("blob:")  # no public URL of the file
    assert "Прадед в 1940 году" in await page.locator("figure.file figcaption").first.inner_text()
    assert await page.locator("figure.pdf [data-file]").count() == 1
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # nothing wider than the phone
    await screenshot(page, "board-story-360")

    await page.locator('[data-action="approve"]').click()
    await shows(page, "#stories-empty")
    await until(
        lambda: any("Ваша история №1 прочитана и одобрена" in m.text for m in board.api.messages(RELATIVE)),
        "the family is told their story is approved",
    )
    assert "Story #1 is approved" in await page.locator("#toast").inner_text()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_claim_in_the_chat_shows_on_the_board(board: BoardDesk, browser: Browser) -> None:
    await open_case(board)
    page = await open_page(browser, board_url(board, board.olga), width=1280, height=800)
    card = page.locator('button.case[data-case="1"]')
    await card.wait_for()
    await board.press(board.erzhan, board.api.messages(GROUP)[-1], "✋ Взять")
    await page.locator('button.case[data-case="1"]', has_text="taken by Ержан").wait_for()
    await screenshot(page, "board-cases-1280")


async def test_the_administrator_sees_the_charts_and_switches_to_kazakh(
    board: BoardDesk, browser: Browser
) -> None:
    await open_case(board)
    await board.call("POST", "/api/cases/1/claim", board.olga)
    page = await open_page(browser, board_url(board, board.admin, tab="stats"), width=1280, height=900)
    # Before the first snapshot the page says the statistics are being prepared, and asks again.
    await page.locator("#stats-waiting").wait_for()
    await board.refresh_stats()  # the bot's background job, as at start
    await shows(page, 'canvas[data-chart="weekly"]')
    as_of = await page.locator("#stats-as-of").get_attribute("data-as-of")
    assert as_of is not None
    expected = f"Деректер {as_of[:10]} {as_of[11:16]} UTC жағдайы бойынша"
    assert await page.locator("#stats-as-of").inner_text() == expected
    points = await page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-chart]')].map((canvas) => {
            const chart = Chart.getChart(canvas);
            const meta = chart.getDatasetMeta(0);
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
            return {name: canvas.dataset.chart, points: meta.data.length, painted,
                    values: chart.data.datasets.map((d) => d.data.reduce((a, b) => a + b, 0))};
        })"""
    )
    by_name = {chart["name"]: chart for chart in points}
    assert set(by_name) == {"weekly", "matches", "cases", "appeals", "regions"}
    assert by_name["weekly"]["points"] == 12 and by_name["weekly"]["values"][1] >= 1  # the search
    assert by_name["cases"]["values"][0] == 1 and by_name["regions"]["points"] > 0
    assert all(chart["painted"] > 500 for chart in points)
    # The administrator's Telegram language is Kazakh: the board speaks it from the start.
    tabs = await page.locator("nav#tabs button").all_inner_texts()
    assert tabs == ["Өтініштер", "Тексеру", "Әңгімелер", "Статистика"]
    assert "Апта сайын" in await page.locator("main").inner_text()
    await screenshot(page, "board-stats-1280-kk")

    await page.select_option("#language", "ru")
    await page.locator("main h3", has_text="По неделям").wait_for()
    await page.select_option("#language", "kk")
    await page.locator("main h3", has_text="Тізілім туған өңір бойынша").wait_for()
    assert await page.evaluate("document.documentElement.lang") == "kk"
    await page.set_viewport_size({"width": 360, "height": 740})
    await screenshot(page, "board-stats-360-kk")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360  # fits a phone
    assert page.errors == []  # type: ignore[attr-defined]


async def test_outside_telegram_or_as_a_relative_the_board_shows_nothing(
    board: BoardDesk, browser: Browser
) -> None:
    await open_case(board)
    page = await open_page(browser, board_url(board, None))
    await page.locator("#unauthorized").wait_for()
    assert "Telegram" in await page.locator("#unauthorized").inner_text()
    assert await page.locator("button.case").count() == 0
    page = await open_page(browser, board_url(board, board.relative))
    await page.locator("#forbidden").wait_for()
    assert await page.locator("button.case").count() == 0


async def test_the_review_queue_side_by_side(board: BoardDesk, browser: Browser) -> None:
    low, high = await record_matches(board)
    page = await open_page(browser, board_url(board, board.olga, tab="review"), width=1280, height=800)
    await shows(page, f'.pair[data-match="{high}"]')
    panels = page.locator(".pair .panel")
    left, right = await panels.nth(0).bounding_box(), await panels.nth(1).bounding_box()
    assert left is not None and right is not None and left["y"] == right["y"] and left["x"] < right["x"]
    assert "Лехкодымов" in await panels.nth(0).inner_text()
    record = await panels.nth(1).inner_text()
    assert "Легкодымов (Лехкодымов) Емельян" in record and "[object" not in record
    assert "KZ-2019-0142" not in record  # the record, not its id
    assert "89 %" in await page.locator("main").inner_text()  # the score 88.5, rounded
    await screenshot(page, "board-review-1280")
    board.api.new_messages(RELATIVE)
    await page.get_by_role("button", name="Likely him: tell the family").click()
    await shows(page, f'.pair[data-match="{low}"]')  # the next pair
    await until(
        lambda: any("Легкодымов" in m.text for m in board.api.messages(RELATIVE)), "the relative was told"
    )
    assert page.errors == []  # type: ignore[attr-defined]
