"""The bot's own small web server (aiohttp): ``/healthz``, ``/metrics`` and what else is added to it.

It knows nothing of the database or Telegram: it is given named health checks (async callables that
return a :class:`CheckResult`) and a callable that renders the metrics, and serves them.

``GET /healthz`` runs every check at once, each bounded by ``check_timeout`` seconds, and answers
200 with ``{"status": "ok", "checks": {...}}`` when all pass, or 503 with ``{"status": "failing",
"failing": ["database", ...], "checks": {...}}`` naming each failing part. A check that raises or
times out fails with the error's type and a one-line message. ``GET /metrics`` answers in the
Prometheus text format.

Other parts add their own routes before the server starts (:meth:`WebServer.add_routes`; the web
board, :mod:`bot.board.api`, adds ``/board/`` and ``/api/``).

Started and stopped with the application (:meth:`WebServer.start`, :meth:`WebServer.stop`); port 0
means no server at all. A port that cannot be bound is logged as an error and the bot runs on
without the server (its health check then fails from outside, which is what an operator watches).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_LOGGER = logging.getLogger(__name__)

__all__ = ["Check", "CheckResult", "MetricsRenderer", "RouteInstaller", "WebServer"]

MAX_ERROR_LENGTH = 200


@dataclass(frozen=True)
class CheckResult:
    """One part's health: whether it is fine, and JSON-able details (counts, ages, the error)."""

    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


Check = Callable[[], Awaitable[CheckResult]]
# Renders the metrics: (body, content type).
MetricsRenderer = Callable[[], Awaitable[tuple[bytes, str]]]
# Adds routes to the server's aiohttp application before it starts.
RouteInstaller = Callable[[web.Application], None]


def _one_line(error: BaseException) -> str:
    message = " ".join(str(error).split()) or type(error).__name__
    return message[:MAX_ERROR_LENGTH]


class WebServer:
    """Serves ``/healthz`` from ``checks`` and ``/metrics`` from ``metrics`` on ``listen:port``."""

    def __init__(
        self,
        listen: str,
        port: int,
        *,
        checks: Mapping[str, Check],
        metrics: MetricsRenderer | None = None,
        check_timeout: float = 5.0,
    ) -> None:
        self.listen = listen
        self.port = port
        self.checks = dict(checks)
        self.metrics = metrics
        self.check_timeout = check_timeout
        self._runner: web.AppRunner | None = None
        self._installers: list[RouteInstaller] = []

    def add_routes(self, installer: RouteInstaller) -> None:
        """Serve more: ``installer`` adds its routes when the server starts (call it before :meth:`start`)."""
        self._installers.append(installer)

    @property
    def running(self) -> bool:
        return self._runner is not None

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        if self.metrics is not None:
            app.router.add_get("/metrics", self._metrics)
        for installer in self._installers:
            installer(app)
        return app

    async def run_checks(self) -> tuple[bool, dict[str, Any]]:
        """Every check at once; (healthy, the JSON body /healthz answers with)."""
        names = list(self.checks)
        results = await asyncio.gather(*(self._run_one(name) for name in names))
        checks = {
            name: {"ok": result.ok, **result.detail} for name, result in zip(names, results, strict=True)
        }
        failing = [name for name, result in zip(names, results, strict=True) if not result.ok]
        body: dict[str, Any] = {"status": "failing" if failing else "ok"}
        if failing:
            body["failing"] = failing
        body["checks"] = checks
        return not failing, body

    async def _run_one(self, name: str) -> CheckResult:
        try:
            return await asyncio.wait_for(self.checks[name](), timeout=self.check_timeout)
        except TimeoutError:
            return CheckResult(False, {"error": f"no answer within {self.check_timeout:g} s"})
        except Exception as error:
            return CheckResult(False, {"error": f"{type(error).__name__}: {_one_line(error)}"})

    async def _healthz(self, _request: web.Request) -> web.Response:
        healthy, body = await self.run_checks()
        if not healthy:
            _LOGGER.warning("health check failing: %s", ", ".join(body["failing"]))
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        assert self.metrics is not None
        payload, content_type = await self.metrics()
        response = web.Response(body=payload)
        response.headers["Content-Type"] = content_type
        return response

    async def start(self) -> bool:
        """Listen (nothing when the port is 0); False when there is no server after all."""
        if self.port == 0 or self._runner is not None:
            return self._runner is not None
        runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.listen, self.port)
            await site.start()
        except OSError as error:
            await runner.cleanup()
            _LOGGER.error(
                "web server: cannot listen on %s:%s (%s); /healthz and /metrics are not served",
                self.listen,
                self.port,
                error.strerror or error,
            )
            return False
        self._runner = runner
        _LOGGER.info("web server on %s:%s", self.listen, self.port)
        return True

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
