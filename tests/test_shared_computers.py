"""Shared front-desk computers: nothing a person read stays in the browser's cache, and a
changed password ends the person's other sessions."""

import pytest
from django.test import Client

from callers.models import Business
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from tests.factories import CallerFactory, CallFactory, UserFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_with_caller_data_are_never_stored_by_the_browser():
    rita = receptionist_user(username="rita")
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    call = CallFactory(caller=ann, taken_by=rita, outcome="message_taken")
    front_desk = logged_in(rita)
    for url in (
        "/calls/",
        f"/calls/{call.pk}/",
        f"/callers/{ann.pk}/",
        "/callers/lookup/?phone=2125550147",
        "/search/?q=lee",
        "/api/v1/calls/",
        "/api/v1/lookup/?phone=12125550147",
    ):
        response = front_desk.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], (url, response["Cache-Control"])

    response = logged_in(manager_user(username="maya")).get("/calls/export.csv")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]

    clara = UserFactory(username="clara", role=CLIENTS)
    StaffBusiness.objects.create(user=clara, business=Business.objects.default())
    portal = logged_in(clara)
    for url in ("/portal/", f"/portal/calls/{call.pk}/"):
        response = portal.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url

    # The login page a logged-out person lands on too: nothing of the app is kept.
    assert "no-store" in Client().get("/accounts/login/")["Cache-Control"]


def test_changing_ones_password_logs_out_every_other_session():
    rita = receptionist_user(username="rita")
    at_the_desk = Client()
    at_home = Client()
    for client in (at_the_desk, at_home):
        response = client.post(
            "/accounts/login/", {"username": "rita", "password": "correct-horse-battery"}
        )
        assert response.status_code == 302
    response = at_the_desk.post(
        "/accounts/password/",
        {
            "old_password": "correct-horse-battery",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    rita.refresh_from_db()
    assert rita.check_password("a-new-long-passphrase")
    # The session that changed it goes on; the other one is back at the login page.
    assert at_the_desk.get("/calls/").status_code == 200
    response = at_home.get("/calls/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
