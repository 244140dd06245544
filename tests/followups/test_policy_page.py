"""A business's callback policy, set by a manager in the app (followups.services.policy_save)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from callers.models import Business
from callers.services import business_save
from followups.models import DEFAULT_POLICY_MINUTES, CallbackPolicy
from followups.services import callback_due_at, policy_save
from receptionist.models import StaffBusiness
from tests.conftest import _client_for
from tests.factories import manager_user, receptionist_user
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    maya = manager_user(username="maya-pol")
    team = Business.objects.default()
    harbor = business_save(user=maya, name="Harbor Vet")
    return {"maya": maya, "team": team, "harbor": harbor}


def test_policy_save_sets_and_clears_rows(world):
    harbor = world["harbor"]
    saved = policy_save(
        user=world["maya"], business=harbor, minutes={("urgent", "high"): 7, ("sales", "low"): 90}
    )
    assert saved == {("urgent", "high"): 7, ("sales", "low"): 90}
    assert (
        CallbackPolicy.objects.minutes_for(business_id=harbor.pk, nature="urgent", urgency="high")
        == 7
    )
    # The team's business keeps the defaults.
    assert (
        CallbackPolicy.objects.minutes_for(
            business_id=world["team"].pk, nature="urgent", urgency="high"
        )
        == DEFAULT_POLICY_MINUTES["urgent"]["high"]
    )
    saved = policy_save(user=world["maya"], business=harbor, minutes={("urgent", "high"): None})
    assert saved == {("sales", "low"): 90}


def test_a_callback_due_time_follows_the_business_policy(world):
    harbor = world["harbor"]
    policy_save(user=world["maya"], business=harbor, minutes={("urgent", "high"): 7})
    now = timezone.now()
    due = callback_due_at(nature="urgent", urgency="high", business_id=harbor.pk, now=now)
    assert due - now <= timedelta(minutes=8)


@pytest.mark.parametrize("minutes", [0, -5, 43201, "ten", 2.5])
def test_policy_minutes_are_from_one_minute_to_thirty_days(world, minutes):
    with pytest.raises(ValidationError) as caught:
        policy_save(
            user=world["maya"], business=world["harbor"], minutes={("urgent", "low"): minutes}
        )
    assert "urgent_low" in caught.value.message_dict
    assert not CallbackPolicy.objects.filter(business=world["harbor"]).exists()


def test_only_managers_of_the_business_set_its_policy(world):
    rita = receptionist_user(username="rita-pol")
    with pytest.raises(ValidationError, match="Only managers"):
        policy_save(user=rita, business=world["harbor"], minutes={("urgent", "low"): 5})
    limited = manager_user(username="limited-pol")
    StaffBusiness.objects.create(user=limited, business=world["team"])
    with pytest.raises(ValidationError, match="do not work for"):
        policy_save(user=limited, business=world["harbor"], minutes={("urgent", "low"): 5})
    with pytest.raises(ValidationError):
        policy_save(user=world["maya"], business=world["harbor"], minutes={("nope", "low"): 5})


def test_the_policy_page_saves_and_keeps_what_was_typed_when_refused(world):
    client = _client_for(world["maya"])
    url = f"/callbacks/policy/{world['harbor'].pk}/"
    page = client.get(url).content.decode()
    assert 'placeholder="15"' in page  # urgent + high's default
    response = client.post(url, {"urgent_high": "7", "sales_low": "abc", "other_normal": "0"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Minutes, as a whole number." in text and 'value="abc"' in text
    # The box out of range is said in the same round.
    assert "From 1 minute to 30 days" in text
    harbor_rows = CallbackPolicy.objects.filter(business=world["harbor"])
    assert not harbor_rows.exists()
    response = client.post(url, {"urgent_high": "7"})
    assert response.status_code == 302
    assert list(harbor_rows.values_list("nature", "urgency", "due_within_minutes")) == [
        ("urgent", "high", 7)
    ]
    assert 'value="7"' in client.get(url).content.decode()
    # The person, the business, its policy rows, and whether it keeps within business hours.
    assert count_queries(client, url) == 4


def test_the_policy_page_is_for_managers_and_their_businesses(world):
    rita = receptionist_user(username="rita-pol")
    assert _client_for(rita).get(f"/callbacks/policy/{world['harbor'].pk}/").status_code == 403
    limited = manager_user(username="limited-pol")
    StaffBusiness.objects.create(user=limited, business=world["team"])
    client = _client_for(limited)
    assert client.get(f"/callbacks/policy/{world['harbor'].pk}/").status_code == 404
    assert client.post(f"/callbacks/policy/{world['harbor'].pk}/", {}).status_code == 404
    assert client.get("/callbacks/policy/999999/").status_code == 404


def test_in_the_admin_a_limited_manager_sees_and_changes_their_businesses_rows_only(world):
    policy_save(user=world["maya"], business=world["harbor"], minutes={("urgent", "low"): 50})
    theirs = CallbackPolicy.objects.get(business=world["harbor"], nature="urgent", urgency="low")
    limited = manager_user(username="limited-adm")
    StaffBusiness.objects.create(user=limited, business=world["team"])
    client = _client_for(limited)
    listing = client.get("/admin/followups/callbackpolicy/").content.decode()
    assert "Harbor Vet" not in listing
    url = f"/admin/followups/callbackpolicy/{theirs.pk}/change/"
    assert client.get(url).status_code in {302, 404}
    client.post(
        url,
        {
            "business": world["harbor"].pk,
            "nature": "urgent",
            "urgency": "low",
            "due_within_minutes": 43200,
            "_save": "Save",
        },
    )
    theirs.refresh_from_db()
    assert theirs.due_within_minutes == 50
    assert "Harbor Vet" not in client.get("/admin/followups/promisekeeping/").content.decode()


def test_boxes_left_out_of_a_forged_form_stay_as_they_are(world):
    harbor = world["harbor"]
    policy_save(
        user=world["maya"], business=harbor, minutes={("urgent", "low"): 50, ("sales", "low"): 90}
    )
    response = _client_for(world["maya"]).post(
        f"/callbacks/policy/{harbor.pk}/", {"urgent_low": "5"}
    )
    assert response.status_code == 302
    rows = CallbackPolicy.objects.filter(business=harbor)
    assert sorted(rows.values_list("nature", "urgency", "due_within_minutes")) == [
        ("sales", "low", 90),
        ("urgent", "low", 5),
    ]
