"""deploy/: the compose file and the Dockerfile are checked as files, and — Docker having no engine here —
the compose services run as plain processes with the environment compose gives them.

The process test does what `docker compose up` would: PostgreSQL (the test server), the `migrate`
service's command, then the bot service's command with the service's environment (interpolated as
compose does, secrets as `amanat.env.example` names them). Only what containers keep apart must differ
on one machine: the database host (`postgres` → the test server) and the ports (each process gets free
ones). Then the Dockerfile's own HEALTHCHECK command must pass and a `/start` be answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.board.init_data import sign_init_data
from bot.config import Settings
from botapi_standin import BotApiStandIn
from tests.amanat_process import free_port, say, start_bot, stop, wait_for_call
from tests.web.test_web_process import _healthy, until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
yaml = pytest.importorskip("yaml")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if operator and operator.endswith("?"):
            raise AssertionError(f"compose would stop: {argument}")
        return argument or ""

    return _VARIABLE.sub(one, value)


def service_env(name: str, variables: dict[str, str]) -> dict[str, str]:
    environment = compose()["services"][name]["environment"]
    return {key: interpolate(str(value), variables) for key, value in environment.items()}


def env_file_keys() -> set[str]:
    lines = (DEPLOY / "amanat.env.example").read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0] for line in lines if line.strip() and not line.startswith("#")}


def test_compose_file_parses_and_its_services_are_wired() -> None:
    services = compose()["services"]
    assert {"postgres", "migrate", "bot", "bot-hook-1", "bot-hook-2", "nginx", "redis"} <= set(services)
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in ("bot", "bot-hook-1", "bot-hook-2"):
        service = services[name]
        assert service["command"] == ["run"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["env_file"] == ["amanat.env"]
        # No secret in the compose file: the token and the webhook secret come from amanat.env.
        assert not {"TELEGRAM_BOT_TOKEN", "AMANAT_TELEGRAM__TOKEN", "AMANAT_TELEGRAM__WEBHOOK_SECRET"} & set(
            service["environment"]
        )
    assert {"TELEGRAM_BOT_TOKEN", "AMANAT_TELEGRAM__WEBHOOK_SECRET"} <= env_file_keys()
    # Every AMANAT_ variable compose sets is a real configuration key.
    for name in ("bot", "bot-hook-1"):
        for key in services[name]["environment"]:
            section, _, field = key.removeprefix("AMANAT_").lower().partition("__")
            assert section in Settings.model_fields, key
            model = Settings.model_fields[section].annotation
            assert model is not None and field in model.model_fields, key  # type: ignore[union-attr]
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert "server bot-hook-1:8443" in nginx and "server bot-hook-2:8443" in nginx
    hook_url = service_env("bot-hook-1", {"POSTGRES_PASSWORD": "x"})["AMANAT_TELEGRAM__WEBHOOK_URL"]
    assert f"location = /{hook_url.rsplit('/', 1)[1]}" in nginx
    # The web board goes to the bots' web port (the one compose gives them), /healthz does not.
    web_port = service_env("bot-hook-1", {"POSTGRES_PASSWORD": "x"})["AMANAT_WEB__PORT"]
    assert f"server bot-hook-1:{web_port}" in nginx and f"server bot-hook-2:{web_port}" in nginx
    assert (
        "location /board/ {" in nginx
        and "location /api/ {" in nginx
        and "healthz" not in nginx.split("http {")[1]
    )


def dockerfile_healthcheck() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])$", text, re.MULTILINE)
    assert match, "the Dockerfile has a HEALTHCHECK with an exec-form CMD"
    command: list[str] = json.loads(match.group(1))
    return command


def test_dockerfile_is_slim_non_root_with_a_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "/healthz" in " ".join(dockerfile_healthcheck())
    assert re.search(r'^ENTRYPOINT \["amanat"\]$', text, re.MULTILINE)
    # What the image copies exists (paths relative to the build context, the repository root) ...
    root = DEPLOY.parent
    for sources in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
        for source in sources.split():
            assert (root / source).exists(), source
    # ... everything the package needs at run time is copied (the catalogs and migrations beside it) ...
    copied = {
        source for sources in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE) for source in sources.split()
    }
    assert {"bot", "handlers", "models", "migrations", "locales", "pyproject.toml", "config.toml"} <= copied
    # ... and the build's catalog check passes on this checkout.
    [check] = re.findall(r'python -c "(from bot\.i18n[^"]*)"', text)
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    amanat = Path(sys.executable).with_name("amanat")
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        # The units name the installed program; here it is this checkout's.
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text(encoding="utf-8").replace("/opt/amanat/.venv/bin/amanat", str(amanat)))
        result = subprocess.run(
            ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0 and not result.stderr.strip(), (unit.name, result.stderr)
    service = (DEPLOY / "systemd" / "amanat.service").read_text(encoding="utf-8")
    assert "EnvironmentFile=/etc/amanat/amanat.env" in service and "NoNewPrivileges=yes" in service


def container_env(api: BotApiStandIn, service: str, postgres_url: str) -> dict[str, str]:
    """What compose gives the service's container, with the host and ports this machine needs."""
    database = make_url(postgres_url)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMANAT_")}
    env.update(service_env(service, {"POSTGRES_PASSWORD": "compose-password", "AMANAT_WEBHOOK_URL": ""}))
    composed = make_url(env["AMANAT_DATABASE__URL"])
    assert (composed.host, composed.database, composed.drivername) == ("postgres", "amanat", "postgresql")
    env["AMANAT_DATABASE__URL"] = composed.set(
        host=database.host,
        port=database.port,
        database=database.database,
        username=database.username,
        password=database.password,
    ).render_as_string(hide_password=False)
    # amanat.env (env_file), as its example names the secrets; the Bot API is the stand-in.
    env["TELEGRAM_BOT_TOKEN"] = api.token
    env["AMANAT_TELEGRAM__WEBHOOK_SECRET"] = "compose-webhook-secret"
    env["AMANAT_TELEGRAM__BASE_URL"] = api.base_url
    env["AMANAT_TELEGRAM__BASE_FILE_URL"] = api.base_file_url
    env["AMANAT_TELEGRAM__POLL_TIMEOUT_SECONDS"] = "1"
    # From the image (Dockerfile ENV): the config file.
    env["AMANAT_CONFIG"] = str(DEPLOY.parent / "config.toml")
    env["AMANAT_WEB__PORT"] = str(free_port())
    return env


def run_healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *dockerfile_healthcheck()[1:]], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("service", ["bot", "bot-hook-1"])
async def test_compose_services_as_processes_answer_and_pass_the_image_health_check(
    api: BotApiStandIn, tmp_path: Path, postgres_url: str, service: str
) -> None:
    env = container_env(api, service, postgres_url)
    assert env["AMANAT_WEB__LISTEN"] == "0.0.0.0"
    migrate = subprocess.run(
        [sys.executable, "-m", "bot", *compose()["services"]["migrate"]["command"]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stderr
    webhook = service != "bot"
    if webhook:
        hook_port = free_port()
        env["AMANAT_TELEGRAM__WEBHOOK_PORT"] = str(hook_port)
        path = urlsplit(env["AMANAT_TELEGRAM__WEBHOOK_URL"]).path
        assert path == "/telegram-hook"  # the path nginx.conf forwards
        api.webhook_target = f"http://127.0.0.1:{hook_port}{path}"  # what nginx does
    process = start_bot(env, tmp_path)
    try:
        await wait_for_call(api, "setWebhook" if webhook else "getUpdates", 0, process)
        port = int(env["AMANAT_WEB__PORT"])
        await until(lambda: _healthy(port), "/healthz answers 200")
        check = run_healthcheck(env)
        assert check.returncode == 0, check.stderr
        relative = api.user(7301, "Aigerim", language_code="kk")
        assert "Аманат" in (await say(api, relative, "/start")).text
    finally:
        stop(process)
    log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
    assert api.token not in log and "compose-webhook-secret" not in log and "compose-password" not in log
    # The image's health check fails once nothing answers.
    assert run_healthcheck(env).returncode != 0


def nginx_config_for_here(folder: Path, listen: int, upstreams: list[int], web: list[int]) -> Path:
    """deploy/nginx.conf with this machine's addresses: the containers' names and ports become local
    ports (the webhook's and the web board's), TLS (a certificate Telegram trusts) becomes plain HTTP,
    logs and the pid go to ``folder``."""
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for number, (port, web_port) in enumerate(zip(upstreams, web, strict=True), start=1):
        assert f"bot-hook-{number}:8443" in text and f"bot-hook-{number}:8080" in text
        text = text.replace(f"bot-hook-{number}:8443", f"127.0.0.1:{port}")
        text = text.replace(f"bot-hook-{number}:8080", f"127.0.0.1:{web_port}")
    assert "listen 443 ssl http2;" in text
    text = text.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{listen};")
    text = re.sub(r"^\s*ssl_certificate(_key)? .*$", "", text, flags=re.MULTILINE)
    text = text.replace("/var/log/nginx/access.log", str(folder / "access.log"))
    path = folder / "nginx.conf"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
async def test_nginx_spreads_the_webhook_over_two_processes_and_one_may_restart(
    api: BotApiStandIn, tmp_path: Path, postgres_url: str
) -> None:
    envs = [container_env(api, name, postgres_url) for name in ("bot-hook-1", "bot-hook-2")]
    migrate = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=envs[0],
        cwd=tmp_path,
        capture_output=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stderr
    hook_ports = [free_port(), free_port()]
    for env, port in zip(envs, hook_ports, strict=True):
        env["AMANAT_TELEGRAM__WEBHOOK_PORT"] = str(port)
    proxy_port = free_port()
    web_ports = [int(env["AMANAT_WEB__PORT"]) for env in envs]
    config = nginx_config_for_here(tmp_path, proxy_port, hook_ports, web_ports)
    nginx = [
        "nginx",
        "-c",
        str(config),
        "-p",
        str(tmp_path),
        "-g",
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;",
    ]
    assert subprocess.run([*nginx, "-t"], capture_output=True, timeout=30).returncode == 0
    api.webhook_target = f"http://127.0.0.1:{proxy_port}/telegram-hook"  # Telegram → nginx
    folders = [tmp_path / "one", tmp_path / "two"]
    processes = []
    for env, folder in zip(envs, folders, strict=True):
        folder.mkdir()
        processes.append(start_bot(env, folder))
    proxy = subprocess.Popen([*nginx, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        await wait_for_call(api, "setWebhook", 1, processes[0])
        for env in envs:
            port = int(env["AMANAT_WEB__PORT"])
            await until(lambda port=port: _healthy(port), "both processes healthy")
        relative = api.user(7401, "Aigerim", language_code="kk")
        assert "Аманат" in (await say(api, relative, "/start")).text
        # The web board through nginx: the page, the API (401 without Telegram's initData, the
        # person with it), and the bots' /healthz is not on the public side.
        proxy_url = f"http://127.0.0.1:{proxy_port}"
        signed = sign_init_data(
            {
                "user": {"id": 7401, "first_name": "Aigerim", "language_code": "kk"},
                "auth_date": int(time.time()),
            },
            api.token,
        )
        page = await fetch(f"{proxy_url}/board/")
        assert page[0] == 200 and "board.js" in page[1]
        assert (await fetch(f"{proxy_url}/api/me"))[0] == 401
        me = await fetch(f"{proxy_url}/api/me", authorization=f"tma {signed}")
        assert me[0] == 200 and json.loads(me[1])["id"] == 7401
        assert (await fetch(f"{proxy_url}/healthz"))[0] == 404
        # A rolling restart: the first process stops; nginx sends the next update to the second.
        processes[0].terminate()
        assert await asyncio.to_thread(processes[0].wait, 60) == 0
        other = api.user(7402, "Мария", language_code="ru")
        assert "Аманат" in (await say(api, other, "/start")).text
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
        for process in processes:
            stop(process)
    served = (tmp_path / "access.log").read_text(encoding="utf-8")
    assert served.count("POST /telegram-hook") >= 2
    assert "GET /api/me" in served and signed not in served  # initData is never logged


async def fetch(url: str, *, authorization: str | None = None) -> tuple[int, str]:
    """(status, body) of one GET."""
    headers = {"Authorization": authorization} if authorization else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as response,
    ):
        return response.status, await response.text()
