"""API tokens: the service's rules, and the page where people make and revoke theirs."""

import pytest
from django.core.exceptions import ValidationError

from receptionist.models import ApiToken
from receptionist.tokens import MOST_LIVE, digest_of, token_create, token_revoke, token_user
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db


def test_a_token_is_kept_as_its_digest_only(receptionist):
    token, raw = token_create(user=receptionist, name="PBX")
    assert raw.startswith("fd_") and len(raw) == 46
    assert token.digest == digest_of(raw) and raw not in {token.digest, token.prefix}
    assert token_user(raw) == receptionist


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "x" * 101])
def test_a_name_is_needed_and_sane(receptionist, name):
    with pytest.raises(ValidationError) as refused:
        token_create(user=receptionist, name=name)
    assert "name" in refused.value.message_dict


def test_at_most_so_many_live_tokens(receptionist):
    for n in range(MOST_LIVE):
        token_create(user=receptionist, name=f"t{n}")
    with pytest.raises(ValidationError):
        token_create(user=receptionist, name="one too many")
    token_revoke(user=receptionist, token_id=ApiToken.objects.first().pk)
    token_create(user=receptionist, name="now it fits")


def test_one_revokes_only_ones_own(receptionist, manager):
    token, raw = token_create(user=receptionist, name="PBX")
    with pytest.raises(ValidationError):
        token_revoke(user=manager, token_id=token.pk)
    assert token_user(raw) == receptionist
    token_revoke(user=receptionist, token_id=token.pk)
    assert token_user(raw) is None


def test_a_person_who_cannot_log_in_loses_their_tokens(receptionist):
    _token, raw = token_create(user=receptionist, name="PBX")
    receptionist.is_active = False
    receptionist.save()
    assert token_user(raw) is None


@pytest.mark.parametrize("raw", ["", "fd_", "fd_\x00", "nope", "fd_" + "é" * 43, "fd_" + "a" * 200])
def test_anything_else_opens_nothing(raw):
    assert token_user(raw) is None


def test_the_page_makes_shows_once_and_revokes(reception_client, receptionist):
    made = reception_client.post("/api/tokens/", {"name": "CRM <b>sync</b>"}, follow=True)
    raw = made.context["made"]
    assert raw and raw in made.content.decode()
    assert "CRM &lt;b&gt;sync&lt;/b&gt;" in made.content.decode()
    again = reception_client.get("/api/tokens/")
    assert raw not in again.content.decode()
    token = ApiToken.objects.get()
    reception_client.post(f"/api/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_page_says_what_is_wrong_and_keeps_what_was_typed(reception_client):
    response = reception_client.post("/api/tokens/", {"name": "x" * 150})
    assert response.status_code == 400
    assert "x" * 100 in response.content.decode()
    assert not ApiToken.objects.exists()
    assert reception_client.post("/api/tokens/", {"name": "a\x00b"}).status_code == 400


def test_the_page_needs_a_login_and_its_queries_do_not_grow(client, reception_client, receptionist):
    assert client.get("/api/tokens/").status_code == 302
    token_create(user=receptionist, name="one")
    few = count_queries(reception_client, "/api/tokens/")
    for n in range(5):
        token_create(user=receptionist, name=f"more {n}")
    assert count_queries(reception_client, "/api/tokens/") == few
