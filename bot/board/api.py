"""The web board on the bot's own web server: the page at ``/board/``, its strings, the JSON API at ``/api/``.

Every ``/api/`` request carries Telegram's signed ``initData`` in ``Authorization: tma <initData>``
(:mod:`bot.board.init_data`); without it, or with a forged, stale or another bot's, the answer is 401
with an empty body. Roles are the bot's (:func:`bot.services.roles.standing_of`: a volunteer as
:func:`bot.services.cases.is_volunteer` decides — the configuration, or a granted role — and an
administrator as /stats decides: ``roles.admins`` or the admin role). Anyone else gets 403 for the cases and the review queue, and non-administrators 403 for the
statistics.

=========================================  ==========================================================
``GET  /api/me``                           who is asking, their roles and language
``GET  /api/cases?filter=open&offset=0``   a page of cases (filters: open, mine, unclaimed, waiting,
                                           closed) with the counts of every filter
``GET  /api/cases/<id>``                   the case: the soldier, the search's results, the
                                           conversation and the audit trail
``POST /api/cases/<id>/claim|release``     the same use cases as the chat's buttons (one claim wins)
``POST /api/cases/<id>/answer`` {text}     the text goes to the relative over the Bot API
``POST /api/cases/<id>/close`` {note?}     closes it (the relative is told, as in the chat)
``GET  /api/review?after=<match id>``      the review queue, one pair at a time, and how many wait
``POST /api/review/<match id>`` {verdict}  "likely" (the relative is told once) or "not"
``GET  /api/stats``                        the administrators' charts: the latest snapshot, made in
                                           the background (bot.services.board_stats), with its time
                                           (``as_of``; null before the first one)
``GET  /api/stories?after=<story id>``     the memory book's moderation queue, one pending story at a
                                           time (as /moderate shows it), and how many wait
``GET  /api/stories/<id>/files/<item>``    a file of the story (its photo or PDF, from the bot's story
                                           store: the directory or the S3 bucket; never a public URL)
``POST /api/stories/<id>/approve``         as /moderate does it (handlers.moderation: the conditional
                                           decision, the family told); the first decision wins, the
                                           second gets 409 "decided"
``POST /api/stories/<id>/decline``         {reason}: the family sees it
``POST /api/stories/<id>/ask``             {question}: to the family through a case claimed by the
                                           volunteer (the story stays pending)
=========================================  ==========================================================

Refusals answer ``{"error": code}`` (taken, not_yours, closed, not_found, empty, too_long,
bad_request, forbidden, already, decided) and the page says them in the reader's language. The page itself
and ``/board/strings/<lang>.json`` (the ``board.*`` messages of the catalogs) are static and public:
they hold nothing but the interface.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson
from aiohttp import web

from bot.board.init_data import InitDataRejected, WebAppUser, check_init_data
from bot.config import Settings
from bot.i18n import LANGUAGES, pick_language, read_catalog
from bot.services import cases, roles, stories
from bot.services.board_stats import read_snapshot
from bot.services.cases import BoardFilter, CaseView, Change, MessageView, Refusal
from bot.services.review import ReviewItem, Verdict, next_item
from bot.services.story_files import StoreError
from handlers.cases import MAX_TEXT
from handlers.moderation import MAX_REASON
from handlers.web_board import BoardActions
from models import Database, StoryState
from models.base import utcnow

_LOGGER = logging.getLogger(__name__)

__all__ = ["STATIC_DIR", "BoardApi", "board_strings"]

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
PAGE_SIZE: Final = 50
MAX_NOTE: Final = 1000
SCHEME: Final = "tma "
SOLDIER_FIELDS: Final = (
    "surname",
    "name",
    "patronymic",
    "birth_year",
    "birth_year_to",
    "birthplace",
    "draft_office",
)
READING_FIELDS: Final = (
    "reading_id", "surname", "name", "patronymic", "birth_year", "birthplace", "draft_office", "rank",
    "found_place", "found_date", "search_unit", "burial_place", "source",
)  # fmt: skip


def board_strings(lang: str) -> dict[str, str]:
    """The page's messages in ``lang``: every ``board.*`` key of the catalogs (plain text)."""
    catalog = read_catalog(lang)
    strings: dict[str, str] = {}
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        if isinstance(key, str) and key.startswith("board.") and isinstance(message.string, str):
            strings[key] = message.string
    return strings


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _error(code: str, status: int, **extra: Any) -> web.Response:
    return _json({"error": code, **extra}, status)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


@dataclass(frozen=True)
class Viewer:
    user: WebAppUser
    volunteer: bool
    admin: bool


Handler = Callable[[web.Request, Viewer], Awaitable[web.Response]]


class BoardApi:
    """The board's routes for one bot: its token (for initData), database, settings and case actions."""

    def __init__(self, settings: Settings, db: Database, token: str, actions: BoardActions) -> None:
        self.settings = settings
        self.db = db
        self._token = token
        self.actions = actions
        self.max_age_seconds = settings.web.init_data_max_age_hours * 3600
        self._strings = {
            lang: orjson.dumps({"lang": lang, "strings": board_strings(lang)}) for lang in LANGUAGES
        }

    # ------------------------------------------------------------------ wiring

    def install(self, app: web.Application) -> None:
        """Add the page, its strings and the API to ``app`` (before it starts)."""
        app.router.add_get("/board", self._to_page)
        app.router.add_get("/board/", self._page)
        app.router.add_get("/board/strings/{lang}.json", self._strings_json)
        app.router.add_static("/board/static/", STATIC_DIR, append_version=False)
        app.router.add_get("/api/me", self._authed(self._me))
        app.router.add_get("/api/cases", self._authed(self._cases, volunteers=True))
        app.router.add_get(r"/api/cases/{case_id:\d+}", self._authed(self._case, volunteers=True))
        app.router.add_post(r"/api/cases/{case_id:\d+}/{action}", self._authed(self._act, volunteers=True))
        app.router.add_get("/api/review", self._authed(self._review, volunteers=True))
        app.router.add_post(r"/api/review/{match_id:\d+}", self._authed(self._decide, volunteers=True))
        app.router.add_get("/api/stats", self._authed(self._stats_json, admins=True))
        app.router.add_get("/api/stories", self._authed(self._stories, volunteers=True))
        app.router.add_get(
            r"/api/stories/{story_id:\d+}/files/{item_id:\d+}",
            self._authed(self._story_file, volunteers=True),
        )
        app.router.add_post(
            r"/api/stories/{story_id:\d+}/{action}", self._authed(self._moderate, volunteers=True)
        )

    def _authed(self, handler: Handler, *, volunteers: bool = False, admins: bool = False) -> Any:
        async def checked(request: web.Request) -> web.Response:
            viewer = await self.viewer(request)
            if viewer is None:
                return web.Response(status=401)  # nothing else: not even why
            if (volunteers and not viewer.volunteer) or (admins and not viewer.admin):
                _LOGGER.warning(
                    "web board: %s %s refused for user %s", request.method, request.path, viewer.user.id
                )
                return _error("forbidden", 403)
            return await handler(request, viewer)

        return checked

    async def viewer(self, request: web.Request) -> Viewer | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith(SCHEME):
            return None
        try:
            data = check_init_data(header[len(SCHEME) :], self._token, max_age_seconds=self.max_age_seconds)
        except InitDataRejected as refused:
            _LOGGER.info("web board: initData refused (%s) from %s", refused.reason, request.remote)
            return None
        standing = await roles.standing_of(self.db, self.settings, data.user.id)
        return Viewer(user=data.user, volunteer=standing.volunteer, admin=standing.admin)

    # ------------------------------------------------------------------ the page

    async def _to_page(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/board/" + (f"?{request.query_string}" if request.query_string else ""))

    async def _page(self, _request: web.Request) -> web.Response:
        response = web.FileResponse(STATIC_DIR / "index.html")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "connect-src 'self'; frame-ancestors https://web.telegram.org https://*.telegram.org 'self'"
        )
        return response  # type: ignore[return-value]

    async def _strings_json(self, request: web.Request) -> web.Response:
        body = self._strings.get(request.match_info["lang"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/json")

    # ------------------------------------------------------------------ the API

    async def language(self, viewer: Viewer) -> str:
        """The viewer's language: the one the bot keeps for them, else Telegram's, else the default."""
        stored = await cases.language_of(self.db, viewer.user.id)
        return stored or pick_language(viewer.user.language_code) or self.settings.i18n.default_language

    async def _me(self, _request: web.Request, viewer: Viewer) -> web.Response:
        return _json(
            {
                "id": viewer.user.id,
                "first_name": viewer.user.first_name,
                "language": await self.language(viewer),
                "volunteer": viewer.volunteer,
                "admin": viewer.admin,
            }
        )

    async def _cases(self, request: web.Request, viewer: Viewer) -> web.Response:
        try:
            which = BoardFilter(request.query.get("filter", BoardFilter.OPEN))
            offset = max(int(request.query.get("offset", "0")), 0)
        except ValueError:
            return _error("bad_request", 400)
        found, counts = await cases.board_cases(
            self.db, viewer.user.id, which, offset=offset, limit=PAGE_SIZE
        )
        now = utcnow()
        return _json(
            {
                "filter": which.value,
                "offset": offset,
                "counts": counts,
                "cases": [self._case_json(case, viewer, now) for case in found],
            }
        )

    def _case_json(self, case: CaseView, viewer: Viewer, now: datetime) -> dict[str, Any]:
        return {
            "id": case.id,
            "status": case.status.value,
            "soldier": {name: case.search.get(name) for name in SOLDIER_FIELDS if case.search.get(name)},
            "relative": case.relative_name,
            "relative_active": case.relative_active,
            "volunteer": case.volunteer_name if case.volunteer_id is not None else None,
            "claimed": case.volunteer_id is not None,
            "mine": case.volunteer_id == viewer.user.id,
            "created_at": _iso(case.created_at),
            "waiting_since": _iso(case.waiting_since),
            "waited_seconds": int((now - case.waiting_since).total_seconds()) if case.waiting_since else None,
            "source": case.source,
        }

    async def _case(self, request: web.Request, viewer: Viewer) -> web.Response:
        case = await cases.get_case(self.db, int(request.match_info["case_id"]))
        if case is None:
            return _error("not_found", 404)
        return _json(await self._case_detail(case, viewer))

    async def _case_detail(self, case: CaseView, viewer: Viewer) -> dict[str, Any]:
        history = await cases.case_messages(self.db, case.id, last=200)
        events = await cases.case_events(self.db, case.id)
        return {
            **self._case_json(case, viewer, utcnow()),
            "results": [item for item in case.results[:10] if isinstance(item, dict)],
            "messages": [self._message_json(case, message) for message in history],
            "events": [
                {"actor": event.actor, "from": event.from_status, "to": event.to_status, "at": _iso(event.at)}
                for event in events
            ],
        }

    @staticmethod
    def _message_json(case: CaseView, message: MessageView) -> dict[str, Any]:
        return {
            "author": message.author.value,
            "name": case.relative_name if message.author == cases.Author.RELATIVE else None,
            "kind": message.kind,
            "text": message.text,
            "at": _iso(message.created_at),
        }

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        if not request.can_read_body:
            return {}
        try:
            data = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    @staticmethod
    def _text(value: Any, limit: int, *, required: bool) -> str | web.Response | None:
        if value is None and not required:
            return None
        if not isinstance(value, str):
            return _error("bad_request", 400)
        text = value.strip()
        if not text:
            return _error("empty", 400) if required else None
        if len(text) > limit:
            return _error("too_long", 400, limit=limit)
        return text

    async def _act(self, request: web.Request, viewer: Viewer) -> web.Response:
        case_id = int(request.match_info["case_id"])
        action = request.match_info["action"]
        body = await self._body(request)
        if body is None or action not in ("claim", "release", "answer", "close"):
            return _error("bad_request", 400)
        volunteer = viewer.user.id
        delivered: bool | None = None
        if action == "answer":
            text = self._text(body.get("text"), MAX_TEXT, required=True)
            if isinstance(text, web.Response):
                return text
            assert text is not None
            await self.actions.remember(volunteer, viewer.user.first_name, viewer.user.language_code)
            result, delivered = await self.actions.answer(case_id, volunteer, text)
        elif action == "close":
            note = self._text(body.get("note"), MAX_NOTE, required=False)
            if isinstance(note, web.Response):
                return note
            await self.actions.remember(volunteer, viewer.user.first_name, viewer.user.language_code)
            result = await self.actions.close(case_id, volunteer, note)
        else:
            await self.actions.remember(volunteer, viewer.user.first_name, viewer.user.language_code)
            act = self.actions.claim if action == "claim" else self.actions.release
            result = await act(case_id, volunteer)
        return await self._result(result, viewer, delivered)

    async def _result(self, result: Change | Refusal, viewer: Viewer, delivered: bool | None) -> web.Response:
        if isinstance(result, Refusal):
            if result == Refusal.NOT_FOUND:
                return _error("not_found", 404)
            return _error(result.value, 409)
        detail = await self._case_detail(result.case, viewer)
        if delivered is not None:
            detail["delivered"] = delivered
        return _json(detail)

    async def _review(self, request: web.Request, _viewer: Viewer) -> web.Response:
        after_text = request.query.get("after")
        try:
            after = int(after_text) if after_text else None
        except ValueError:
            return _error("bad_request", 400)
        item, waiting = await next_item(self.db, after)
        return _json({"waiting": waiting, "item": self._review_json(item) if item is not None else None})

    @staticmethod
    def _review_json(item: ReviewItem) -> dict[str, Any]:
        reading = item.reading
        return {
            "match_id": item.match_id,
            "score": round(item.score, 3),
            "strong": item.strong,
            "search": {name: item.search.get(name) for name in SOLDIER_FIELDS if item.search.get(name)},
            "reading": {name: getattr(reading, name) for name in READING_FIELDS if getattr(reading, name)},
        }

    async def _decide(self, request: web.Request, viewer: Viewer) -> web.Response:
        body = await self._body(request)
        try:
            verdict = Verdict(str((body or {}).get("verdict")))
        except ValueError:
            return _error("bad_request", 400)
        decided = await self.actions.review(int(request.match_info["match_id"]), verdict, viewer.user.id)
        if decided is None:
            return _error("already", 409)
        return _json({"decided": decided.match_id, "verdict": verdict.value})

    async def _stats_json(self, _request: web.Request, _viewer: Viewer) -> web.Response:
        # Never computed here: the background job keeps a snapshot (bot.jobs, board_stats.refresh_snapshot).
        snapshot = await read_snapshot(self.db)
        if snapshot is None:  # before the first refresh after the very first start: the page asks again
            return _json({"as_of": None, "refresh_seconds": self.settings.web.stats_refresh_seconds})
        return _json(
            {
                "as_of": _iso(snapshot.at),
                "refresh_seconds": self.settings.web.stats_refresh_seconds,
                **snapshot.stats.to_json(),
            }
        )

    # ------------------------------------------------------------------ the memory book's moderation

    async def _stories(self, request: web.Request, _viewer: Viewer) -> web.Response:
        after_text = request.query.get("after")
        try:
            after = int(after_text) if after_text else 0
        except ValueError:
            return _error("bad_request", 400)
        story = await stories.next_pending(self.db, after=after)
        waiting = await stories.pending_count(self.db)
        return _json({"waiting": waiting, "item": self._story_json(story) if story is not None else None})

    @staticmethod
    def _story_json(story: stories.StoryView) -> dict[str, Any]:
        reading = story.reading or {}
        return {
            "id": story.id,
            "soldier": {name: story.soldier.get(name) for name in SOLDIER_FIELDS if story.soldier.get(name)},
            "reading": {name: reading.get(name) for name in READING_FIELDS if reading.get(name)} or None,
            "consent": story.consent.value if story.consent is not None else None,
            "text": story.text,
            "submitted_at": _iso(story.submitted_at),
            "files": [
                {"id": item.id, "kind": item.kind, "caption": item.caption, "size": item.size}
                for item in story.items
            ],
        }

    async def _story_file(self, request: web.Request, _viewer: Viewer) -> web.Response:
        story = await stories.get_story(self.db, int(request.match_info["story_id"]))
        item_id = int(request.match_info["item_id"])
        item = next((item for item in story.items if item.id == item_id), None) if story is not None else None
        if story is None or item is None or story.withdrawn:
            return _error("not_found", 404)
        try:
            data = await self.actions.story_file(item)
        except (OSError, ValueError, StoreError) as error:
            _LOGGER.warning(
                "story %s: item %s missing in storage (%s)", story.id, item.id, type(error).__name__
            )
            return _error("not_found", 404)
        pdf = item.kind == "pdf"
        return web.Response(
            body=data,
            content_type="application/pdf" if pdf else "image/jpeg",
            headers={
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": f'{"attachment" if pdf else "inline"}; filename="story-{story.id}-{item.id}.{"pdf" if pdf else "jpg"}"',
            },
        )

    async def _moderate(self, request: web.Request, viewer: Viewer) -> web.Response:
        story_id = int(request.match_info["story_id"])
        action = request.match_info["action"]
        body = await self._body(request)
        if body is None or action not in ("approve", "decline", "ask"):
            return _error("bad_request", 400)
        volunteer = viewer.user.id
        if action == "approve":
            await self.actions.remember(volunteer, viewer.user.first_name, viewer.user.language_code)
            decided = await self.actions.approve_story(story_id, volunteer)
        elif action == "decline":
            reason = self._text(body.get("reason"), MAX_REASON, required=True)
            if isinstance(reason, web.Response):
                return reason
            assert reason is not None
            await self.actions.remember(volunteer, viewer.user.first_name, viewer.user.language_code)
            decided = await self.actions.decline_story(story_id, volunteer, reason)
        else:
            return await self._ask(story_id, body, viewer)
        if decided is None:
            return await self._undecided(story_id)
        return _json({"decided": story_id, "state": decided.state.value})

    async def _undecided(self, story_id: int) -> web.Response:
        """Why a decision did not happen: no such story (404), or it was decided first (409)."""
        if await stories.get_story(self.db, story_id) is None:
            return _error("not_found", 404)
        return _error("decided", 409)

    async def _ask(self, story_id: int, body: dict[str, Any], viewer: Viewer) -> web.Response:
        question = self._text(body.get("question"), MAX_TEXT, required=True)
        if isinstance(question, web.Response):
            return question
        assert question is not None
        story = await stories.get_story(self.db, story_id)
        if story is None:
            return _error("not_found", 404)
        if story.state != StoryState.PENDING or story.withdrawn:
            return _error("decided", 409)
        volunteer = viewer.user.id
        await self.actions.remember(volunteer, viewer.user.first_name, viewer.user.language_code)
        asked = await self.actions.ask_family(story, volunteer, question, await self.language(viewer))
        if asked is None:
            return _error("decided", 409)
        change, delivered = asked
        if isinstance(change, Refusal):
            return _error("decided", 409)
        return _json({"story": story_id, "case": change.case.id, "delivered": delivered})
