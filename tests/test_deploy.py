"""Production defaults, as a deployer finds them: `check --deploy` with the values of
.env.example reports nothing, plain HTTP is redirected to HTTPS behind the proxy, and HSTS
is sent over HTTPS."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key
from django.test import Client

from tests.factories import receptionist_user

ROOT = Path(__file__).resolve().parents[1]


def env_example() -> dict[str, str]:
    """The variables .env.example sets (its commented lines are the defaults)."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_check_deploy_with_the_example_environment_reports_nothing():
    example = env_example()
    assert example["DEBUG"] == "0"
    environment = {
        key: value
        for key, value in os.environ.items()
        # Only what .env.example says (and a real key): nothing of this machine's own.
        # (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE, which --deploy rightly refuses).
        if not key.startswith(("SECURE_", "SESSION_", "AXES_", "DEBUG", "DATABASE_URL", "DJANGO_"))
    }
    environment.update(example, SECRET_KEY=get_random_secret_key() + get_random_secret_key())
    finished = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "System check identified no issues" in finished.stdout, finished.stdout


@pytest.fixture
def production_redirect(settings):
    """The production default (tests/conftest.py turns the redirect off for the suite)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True


@pytest.mark.django_db
def test_plain_http_is_sent_to_https_and_https_gets_hsts(production_redirect):
    rita = receptionist_user(username="rita")
    plain = Client()
    plain.force_login(rita)
    response = plain.get("/calls/?nature=urgent")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/calls/?nature=urgent"
    # Not kept by the browser either: its address may hold a search.
    assert response["Cache-Control"] == "no-store"

    behind_the_proxy = Client(HTTP_X_FORWARDED_PROTO="https")
    behind_the_proxy.force_login(rita)
    response = behind_the_proxy.get("/calls/")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_the_balancer_reaches_healthz_over_plain_http(production_redirect):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_production_defaults_in_settings():
    """What settings.py gives with nothing set (DEBUG off): read in a fresh process."""
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        " s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.AXES_FAILURE_LIMIT)"
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_", "AXES_", "DEBUG"))
    }
    environment.update(SECRET_KEY="x" * 60, DJANGO_SETTINGS_MODULE="receptionist.settings")
    finished = subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.stdout.split() == ["True", "31536000", "True", "False", "True", "True", "5"]


def test_docker_compose_publishes_gunicorn_on_loopback_only():
    """The proxy header is trusted, so gunicorn is reachable from the proxy alone."""
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    published = [
        line.strip().lstrip("- ").strip("\"'")
        for number, line in enumerate(lines)
        if line.strip().startswith("- ")
        and any(lines[earlier].strip() == "ports:" for earlier in range(number - 1, number))
    ]
    assert published == ["127.0.0.1:8000:8000"]


def test_the_access_log_keeps_no_query_string(tmp_path):
    """gunicorn's access log line for a lookup by number and a search by name: the path
    only (gunicorn.conf.py), never the caller's number or name."""
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    namespace: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)
    config = Config()
    config.set("access_log_format", namespace["access_log_format"])
    config.set("accesslog", str(tmp_path / "access.log"))

    class Response:
        status = "200 OK"
        response_length = 512
        headers = ()
        sent = 512

    for path, query in (("/callers/lookup/", "phone=2125550147"), ("/search/", "q=Ann+Lee")):
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "RAW_URI": f"{path}?{query}",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
        }
        Logger(config).access(Response(), (), environ, timedelta(0))
    logged = (tmp_path / "access.log").read_text()
    assert '"GET /callers/lookup/ HTTP/1.1" 200' in logged
    assert "2125550147" not in logged and "Ann" not in logged
