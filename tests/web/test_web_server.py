"""`bot.web.WebServer` on its own: the JSON of /healthz, a failing, raising or hanging check named in a
503, /metrics as given, and a port already taken leaving the caller running."""

from __future__ import annotations

import asyncio
import socket

import aiohttp

from bot.web import CheckResult, WebServer
from tests.amanat_process import free_port


async def fine() -> CheckResult:
    return CheckResult(True, {"readings": 3})


async def broken() -> CheckResult:
    raise ConnectionRefusedError("connection refused\nsecond line")


async def hangs() -> CheckResult:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def metrics() -> tuple[bytes, str]:
    return b"amanat_up 1\n", "text/plain; version=0.0.4; charset=utf-8"


async def fetch(port: int, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_healthy_checks_answer_200_with_each_part() -> None:
    server = WebServer("127.0.0.1", free_port(), checks={"index": fine}, metrics=metrics)
    assert await server.start()
    try:
        healthy, body = await server.run_checks()
        assert healthy and body == {"status": "ok", "checks": {"index": {"ok": True, "readings": 3}}}
        status, _type, text = await fetch(server.port, "/healthz")
        assert status == 200 and '"status": "ok"' in text
        status, content_type, text = await fetch(server.port, "/metrics")
        assert status == 200 and text == "amanat_up 1\n" and content_type.startswith("text/plain")
    finally:
        await server.stop()


async def test_failing_raising_and_hanging_checks_are_each_named_in_a_503() -> None:
    async def behind() -> CheckResult:
        return CheckResult(False, {"error": "a message has waited 1000 s"})

    server = WebServer(
        "127.0.0.1",
        free_port(),
        checks={"index": fine, "database": broken, "matching": hangs, "outbox": behind},
        check_timeout=0.2,
    )
    assert await server.start()
    try:
        status, _type, _text = await fetch(server.port, "/healthz")
        assert status == 503
        healthy, body = await server.run_checks()
        assert not healthy and body["failing"] == ["database", "matching", "outbox"]
        assert body["checks"]["database"]["error"] == "ConnectionRefusedError: connection refused second line"
        assert "no answer within 0.2 s" in body["checks"]["matching"]["error"]
        assert body["checks"]["index"]["ok"] is True
    finally:
        await server.stop()


async def test_a_taken_port_is_reported_and_the_caller_goes_on() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = WebServer("127.0.0.1", taken.getsockname()[1], checks={"index": fine})
        assert await server.start() is False
        assert not server.running
        await server.stop()


async def test_port_zero_starts_nothing() -> None:
    server = WebServer("127.0.0.1", 0, checks={"index": fine})
    assert await server.start() is False and not server.running
