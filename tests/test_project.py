"""Project wiring: health check, login, roles, the create_staff command."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import receptionist_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]


def test_healthz_needs_no_login_and_checks_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_healthz_answers_the_balancer_whatever_allowed_hosts_says(client, settings):
    settings.ALLOWED_HOSTS = ["calls.example.com"]
    for host in ("127.0.0.1:8000", "10.0.3.7", "calls.example.com"):
        response = client.get("/healthz", HTTP_HOST=host)
        assert (response.status_code, response.content) == (200, b"ok")
    # Every other page still refuses a host it does not know.
    assert client.get("/accounts/login/", HTTP_HOST="127.0.0.1").status_code == 400
    assert client.get("/healthz/", HTTP_HOST="127.0.0.1").status_code == 400
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.0.3.7").status_code == 200  # no redirect


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.parametrize("url", ["/", "/calls/", "/calls/new/", "/callers/", "/callers/lookup/"])
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_renders_in_layout(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in" in response.content
    assert b"bootstrap.min.css" in response.content


def test_login_with_the_form_then_logout(client):
    receptionist_user(username="rita")
    response = client.post(
        "/accounts/login/", {"username": "rita", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/calls/new/"
    assert client.get("/calls/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/calls/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client):
    receptionist_user(username="rita")
    response = client.post("/accounts/login/", {"username": "rita", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_five_failures_lock_the_login_and_the_page_says_until_when(client):
    receptionist_user(username="rita")
    for _ in range(4):
        response = client.post("/accounts/login/", {"username": "rita", "password": "nope"})
        assert response.status_code == 200
    last_failure = timezone.now()
    response = client.post("/accounts/login/", {"username": "rita", "password": "nope"})
    assert response.status_code == 429
    # The right password is refused too while the lock holds.
    response = client.post(
        "/accounts/login/", {"username": "rita", "password": "correct-horse-battery"}
    )
    assert response.status_code == 429
    page = response.content.decode()
    assert "After 5 failed attempts, logging in as <strong>rita</strong>" in page
    assert "locked for 60 minutes" in page
    until = timezone.localtime(last_failure + timedelta(hours=1))
    assert f"try again after <strong>{until:%H:%M}</strong>" in page or (
        f"try again after <strong>{until + timedelta(minutes=1):%H:%M}</strong>" in page
    )
    # Another person at the same desk still logs in.
    receptionist_user(username="sam")
    response = client.post(
        "/accounts/login/", {"username": "sam", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302


def test_roles_exist_with_their_permissions():
    receptionists = Group.objects.get(name="Receptionists")
    managers = Group.objects.get(name="Managers")
    reception_perms = set(receptionists.permissions.values_list("codename", flat=True))
    manager_perms = set(managers.permissions.values_list("codename", flat=True))
    assert {"add_call", "change_call", "view_call", "add_caller"} <= reception_perms
    assert "merge_caller" not in reception_perms
    assert "flag_caller" not in reception_perms
    assert {"merge_caller", "flag_caller"} <= manager_perms
    assert reception_perms <= manager_perms


def test_pages_send_a_content_security_policy(reception_client):
    response = reception_client.get("/calls/new/")
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_create_staff_with_password_file(tmp_path):
    password_file = tmp_path / "pw"
    password_file.write_text("a-long-enough-passphrase\n")
    call_command("create_staff", "maya", "--role", "manager", "--password-file", str(password_file))
    user = get_user_model().objects.get(username="maya")
    assert user.check_password("a-long-enough-passphrase")
    assert list(user.groups.values_list("name", flat=True)) == ["Managers"]


def test_create_staff_for_some_businesses(tmp_path):
    from callers.models import Business
    from callers.services import business_save
    from tests.factories import manager_user

    maya = manager_user(username="maya-s")
    harbor = business_save(user=maya, name="Harbor Vet")
    bay = business_save(user=maya, name="Bay Dental")
    password_file = tmp_path / "pw"
    password_file.write_text("a-long-enough-passphrase\n")
    out = StringIO()
    call_command(
        "create_staff",
        "rita",
        "--role",
        "receptionist",
        "--business",
        "harbor vet",
        "--business",
        "Bay Dental",
        "--password-file",
        str(password_file),
        stdout=out,
    )
    rita = get_user_model().objects.get(username="rita")
    assert Business.objects.ids_for(rita) == sorted([harbor.pk, bay.pk])
    assert "for harbor vet, Bay Dental" in out.getvalue()
    with pytest.raises(CommandError, match="No business named 'Nowhere'"):
        call_command(
            "create_staff",
            "sam",
            "--role",
            "receptionist",
            "--business",
            "Nowhere",
            "--password-file",
            str(password_file),
        )
    assert not get_user_model().objects.filter(username="sam").exists()
    call_command("create_staff", "sam", "--role", "manager", "--password-file", str(password_file))
    assert Business.objects.ids_for(get_user_model().objects.get(username="sam")) is None


def test_create_staff_refuses_weak_password_and_duplicates(tmp_path):
    password_file = tmp_path / "pw"
    password_file.write_text("123\n")
    with pytest.raises(CommandError, match="too short"):
        call_command(
            "create_staff", "rita", "--role", "receptionist", "--password-file", str(password_file)
        )
    assert not get_user_model().objects.filter(username="rita").exists()
    receptionist_user(username="rita")
    password_file.write_text("a-long-enough-passphrase\n")
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_staff", "rita", "--role", "receptionist", "--password-file", str(password_file)
        )


def test_expired_session_on_an_htmx_request_redirects_the_whole_page(client):
    response = client.get("/callers/lookup/", {"phone": "212"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/")


@pytest.mark.parametrize("module", ["receptionist.wsgi", "receptionist.asgi"])
def test_serving_without_a_secret_key_is_refused(module):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_serving_with_the_example_placeholder_key_is_refused():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env["SECRET_KEY"] = "change-me-to-a-long-random-string"
    result = subprocess.run(
        [sys.executable, "-c", "import receptionist.wsgi"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is .env.example's placeholder" in result.stderr


def test_checks_run_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_400_page_says_why_for_bad_requests_but_never_echoes_a_suspicious_one(reception_client):
    response = reception_client.get("/calls/?cursor=garbage")
    assert response.status_code == 400
    assert b"This page link is not valid" in response.content
    response = reception_client.get("/calls/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert b"evil.example" not in response.content


def test_create_staff_without_a_terminal_says_how_to_give_the_password():
    done = subprocess.run(
        [sys.executable, "manage.py", "create_staff", "sam", "--role", "receptionist"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SECRET_KEY": "test-only"},
    )
    assert done.returncode == 1
    assert "--password-file" in done.stderr
    assert "Traceback" not in done.stderr and "EOFError" not in done.stderr


def test_managers_start_on_the_escalation_queue_and_the_desk_on_the_call_form(client):
    from tests.factories import manager_user

    receptionist_user(username="rita")
    manager_user(username="maya")
    for username, start in (("rita", "/calls/new/"), ("maya", "/escalations/")):
        client.logout()
        response = client.post(
            "/accounts/login/", {"username": username, "password": "correct-horse-battery"}
        )
        assert (response.status_code, response["Location"]) == (302, start)
        assert client.get("/")["Location"] == start


def test_the_audit_trail_reads_as_words(reception_client, receptionist):
    from followups.services import callback_claim
    from tests.factories import CallbackFactory

    receptionist.first_name, receptionist.last_name = "Rita", "Reyes"
    receptionist.save()
    callback = CallbackFactory()
    callback_claim(callback_id=callback.pk, user=receptionist)
    content = reception_client.get(callback.get_absolute_url()).content.decode()
    assert "Claimed by: <del>—</del> → Rita Reyes" in content  # a name, not an id
    assert "Status: <del>Open</del> → Claimed" in content  # labels, not codes
    assert "Claimed at: <del>—</del> → " in content and "+00:00" not in content


def test_behind_the_proxy_the_lock_is_the_clients_own(client, settings):
    """Every request comes from the proxy's address: the lock is keyed on the address the
    proxy put last in X-Forwarded-For, so one person's failures lock nobody else out, and
    an address of one's own choosing in the header changes nothing."""
    settings.PROXY_COUNT = 1
    receptionist_user(username="rita")
    via_proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for _ in range(5):
        client.post(
            "/accounts/login/",
            {"username": "rita", "password": "nope"},
            HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7",  # the attacker's claim, then theirs
            **via_proxy,
        )
    locked = client.post(
        "/accounts/login/",
        {"username": "rita", "password": "correct-horse-battery"},
        HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
        **via_proxy,
    )
    assert locked.status_code == 429
    rita_at_her_desk = client.post(
        "/accounts/login/",
        {"username": "rita", "password": "correct-horse-battery"},
        HTTP_X_FORWARDED_FOR="198.51.100.20",
        **via_proxy,
    )
    assert rita_at_her_desk.status_code == 302


def test_trying_during_the_lock_does_not_make_it_longer(client):
    from axes.models import AccessAttempt

    receptionist_user(username="rita")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "rita", "password": "nope"})
    locked_at = AccessAttempt.objects.get(username="rita").attempt_time
    client.post("/accounts/login/", {"username": "rita", "password": "nope"})
    assert AccessAttempt.objects.get(username="rita").attempt_time == locked_at


def test_guessing_the_current_password_ends_the_session(client):
    receptionist_user(username="rita")
    client.post("/accounts/login/", {"username": "rita", "password": "correct-horse-battery"})
    guess = {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"}
    for _ in range(4):
        response = client.post("/accounts/password/", {**guess, "old_password": "nope"})
        assert response.status_code == 200
    response = client.post("/accounts/password/", {**guess, "old_password": "nope"}, follow=True)
    assert response.redirect_chain[0] == ("/accounts/login/", 302)
    assert "wrong 5 times: you have been logged out" in response.content.decode()
    assert client.get("/calls/").status_code == 302
