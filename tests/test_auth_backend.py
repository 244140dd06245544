"""The permissions backend: the same answers as Django's, in one query."""

import pytest
from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission

from receptionist.auth import ModelBackend
from receptionist.roles import MANAGERS, RECEPTIONISTS, ensure_groups

pytestmark = pytest.mark.django_db


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


@pytest.mark.parametrize("group", [RECEPTIONISTS, MANAGERS])
def test_same_permissions_as_djangos_backend_in_one_query(group, django_assert_num_queries):
    user = get_user_model().objects.create_user("pat")
    user.groups.add(ensure_groups()[group])
    # A permission of the person's own, beside their group's.
    user.user_permissions.add(Permission.objects.get(codename="delete_group"))
    expected = backends.ModelBackend().get_all_permissions(fresh(user))
    user = fresh(user)
    with django_assert_num_queries(1):
        found = ModelBackend().get_all_permissions(user)
        assert ModelBackend().get_all_permissions(user) is found  # read once per request
    assert found == expected and "auth.delete_group" in found
    assert user.has_perm("auth.delete_group")


def test_a_role_change_counts_on_the_next_request():
    user = get_user_model().objects.create_user("pat")
    assert not fresh(user).has_perm("calls.manage_escalation")
    user.groups.add(ensure_groups()[MANAGERS])
    assert fresh(user).has_perm("calls.manage_escalation")
    user.groups.clear()
    group = Group.objects.create(name="Other")
    user.groups.add(group)
    assert fresh(user).get_all_permissions() == set()


def test_inactive_people_have_no_permissions():
    user = get_user_model().objects.create_user("pat", is_active=False)
    user.groups.add(ensure_groups()[MANAGERS])
    assert ModelBackend().get_all_permissions(fresh(user)) == set()
