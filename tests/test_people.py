"""People: their role and businesses, from the managers' page and create_staff alike
(receptionist.people.person_save)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from callers.models import Business
from callers.services import business_save
from receptionist.models import StaffBusiness
from receptionist.people import person_save, role_of
from tests.conftest import _client_for
from tests.factories import UserFactory, manager_user, receptionist_user
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-Pa55word"


@pytest.fixture
def world(db):
    maya = manager_user(username="maya-pp")
    team = Business.objects.default()
    harbor = business_save(user=maya, name="Harbor Vet")
    return {"maya": maya, "team": team, "harbor": harbor}


def new(world, **fields):
    values = {"username": "newbie", "role": "receptionist", "password": PASSWORD}
    values.update(fields)
    return person_save(user=world["maya"], **values)


def refusal(callable_) -> dict:
    with pytest.raises(ValidationError) as caught:
        callable_()
    return caught.value.message_dict if hasattr(caught.value, "error_dict") else caught.value


# --- the rules, called directly ---------------------------------------------------------


def test_a_client_is_at_exactly_one_business(world):
    errors = refusal(lambda: new(world, role="client"))
    assert "exactly one business" in errors["businesses"][0]
    both = [world["team"].pk, world["harbor"].pk]
    assert "businesses" in refusal(lambda: new(world, role="client", business_ids=both))
    clara = new(world, username="clara", role="client", business_ids=[world["harbor"].pk])
    assert role_of(clara) == "client" and not clara.is_staff
    assert Business.objects.of_client(clara) == world["harbor"]


def test_only_a_manager_of_every_business_manages_people(world):
    limited = manager_user(username="limited")
    StaffBusiness.objects.create(user=limited, business=world["harbor"])
    with pytest.raises(ValidationError, match="every business"):
        person_save(user=limited, username="x", role="manager", password=PASSWORD)
    rita = receptionist_user(username="rita-pp")
    with pytest.raises(ValidationError, match="every business"):
        person_save(user=rita, username="y", role="receptionist", password=PASSWORD)
    assert not get_user_model().objects.filter(username__in=["x", "y"]).exists()


def test_a_username_is_one_person_in_any_case_and_an_address_is_valid(world):
    new(world, username="Sam")
    assert "username" in refusal(lambda: new(world, username="sam"))
    assert "email" in refusal(lambda: new(world, username="sal", email="not an address"))
    assert "password" in refusal(lambda: new(world, username="sal", password=None))
    assert "password" in refusal(lambda: new(world, username="sal", password="123"))
    assert "businesses" in refusal(lambda: new(world, username="sal", business_ids=[10**9]))


def test_a_change_replaces_the_role_and_the_businesses(world):
    person = new(world, role="manager", business_ids=[world["harbor"].pk])
    assert role_of(person) == "manager" and person.is_staff
    changed = person_save(
        user=world["maya"], person=person, username="newbie", role="receptionist", business_ids=[]
    )
    assert role_of(changed) == "receptionist" and not changed.is_staff
    assert not StaffBusiness.objects.filter(user=person).exists()
    assert changed.check_password(PASSWORD)  # no password given: it stays
    assert [g.name for g in changed.groups.all()] == ["Receptionists"]


def test_a_new_password_from_a_manager_lifts_the_lock(world, client):
    person = new(world)
    for _ in range(5):
        client.post("/accounts/login/", {"username": "newbie", "password": "nope"})
    assert (
        client.post("/accounts/login/", {"username": "newbie", "password": PASSWORD}).status_code
        == 429
    )
    person_save(
        user=world["maya"],
        person=person,
        username="newbie",
        role="receptionist",
        password="another-long-Pa55word",
    )
    response = client.post(
        "/accounts/login/", {"username": "newbie", "password": "another-long-Pa55word"}
    )
    assert response.status_code == 302


def test_nobody_changes_their_own_role_businesses_or_access(world):
    maya = world["maya"]
    for change in (
        {"role": "receptionist"},
        {"business_ids": [world["harbor"].pk]},
        {"active": False},
    ):
        values = {"username": "maya-pp", "role": "manager", **change}
        assert "role" in refusal(lambda v=values: person_save(user=maya, person=maya, **v))
    renamed = person_save(
        user=maya, person=maya, username="maya-pp", role="manager", first_name="Maya"
    )
    assert renamed.first_name == "Maya"


def test_only_a_superuser_changes_a_superuser(world):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    with pytest.raises(ValidationError, match="superuser"):
        person_save(user=world["maya"], person=root, username="root", role="receptionist")
    root.refresh_from_db()
    assert root.is_superuser


# --- the page ----------------------------------------------------------------------------


def test_a_manager_adds_a_client_who_then_sees_the_portal(world):
    client = _client_for(world["maya"])
    form = client.get("/businesses/people/new/").content.decode()
    assert "Harbor Vet" in form
    response = client.post(
        "/businesses/people/new/",
        {
            "username": "cleo",
            "first_name": "Cleo",
            "email": "cleo@harbor.example",
            "role": "client",
            "businesses": [world["harbor"].pk],
            "active": "on",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()
    listing = client.get("/businesses/people/").content.decode()
    assert "cleo" in listing and "Harbor Vet" in listing
    cleo = get_user_model().objects.get(username="cleo")
    assert _client_for(cleo).get("/portal/").status_code == 200


def test_a_refused_person_keeps_what_was_typed(world):
    response = _client_for(world["maya"]).post(
        "/businesses/people/new/",
        {
            "username": "cleo",
            "first_name": "Cléo <b>",
            "role": "client",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "exactly one business" in page
    assert 'value="Cléo &lt;b&gt;"' in page
    assert not get_user_model().objects.filter(username="cleo").exists()


def test_people_pages_are_for_managers_of_every_business(world):
    limited = manager_user(username="limited")
    StaffBusiness.objects.create(user=limited, business=world["harbor"])
    rita = receptionist_user(username="rita-pp")
    for user in (limited, rita):
        client = _client_for(user)
        assert client.get("/businesses/people/").status_code == 403
        assert client.post("/businesses/people/new/", {"username": "z"}).status_code == 403
        assert client.get(f"/businesses/people/{rita.pk}/edit/").status_code == 403


def test_the_people_page_costs_the_same_however_many_people(world):
    client = _client_for(world["maya"])
    before = count_queries(client, "/businesses/people/")
    for i in range(10):
        new(world, username=f"p{i}", business_ids=[world["harbor"].pk])
    assert count_queries(client, "/businesses/people/") == before == 5


def test_a_full_width_username_is_the_plain_one_and_so_taken(world):
    new(world, username="Sam")
    full_width_sam = "\uff33\uff21\uff2d"
    assert "username" in refusal(lambda: new(world, username=full_width_sam))
    assert "password" in refusal(lambda: new(world, username="nul", password="pass\x00word-long"))


def test_a_bad_address_is_said_once(world):
    assert refusal(lambda: new(world, username="al", email="bad"))["email"] == [
        "Enter a valid email address."
    ]


def test_a_superuser_is_not_edited_on_the_people_page(world):
    root = UserFactory(username="root-p", is_superuser=True, is_staff=True)
    response = _client_for(world["maya"]).get(f"/businesses/people/{root.pk}/edit/")
    assert response.status_code == 403
    assert "root-p" not in response.content.decode()


def test_anyone_changes_their_own_password(world, settings):
    settings.TIME_ZONE = "America/New_York"  # the office's clock is not UTC
    clara = new(world, username="clara-pw", role="client", business_ids=[world["harbor"].pk])
    client = _client_for(clara)
    clara.refresh_from_db()
    logged_in_at = clara.last_login
    assert 'href="/accounts/password/"' in client.get("/portal/").content.decode()
    refused = client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    )
    assert refused.status_code == 200 and "incorrectly" in refused.content.decode()
    done = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-Long-pa55word",
            "new_password2": "another-Long-pa55word",
        },
    )
    assert done.status_code == 302
    clara.refresh_from_db()
    assert clara.check_password("another-Long-pa55word")
    # Saved from the person the session read: their times are kept as they were.
    assert clara.last_login == logged_in_at
    assert client.get("/portal/").status_code == 200  # still logged in


def test_a_password_is_at_most_256_characters(world):
    assert "password" in refusal(lambda: new(world, username="long", password="A1-" + "x" * 300))
