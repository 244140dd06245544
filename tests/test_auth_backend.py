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


@pytest.mark.parametrize("group", [RECEPTIONISTS, MANAGERS])
def test_the_user_and_their_permissions_come_in_one_query(group, django_assert_num_queries):
    user = get_user_model().objects.create_user("pat", first_name="Pat")
    user.groups.add(ensure_groups()[group])
    user.user_permissions.add(Permission.objects.get(codename="delete_group"))
    expected = backends.ModelBackend().get_all_permissions(fresh(user))
    ModelBackend().get_user(user.pk)  # the process reads the permissions' names once
    with django_assert_num_queries(1):
        found = ModelBackend().get_user(user.pk)
        assert found.get_all_permissions() == expected
        assert found.has_perm("auth.delete_group")
    assert found == user and found.first_name == "Pat"
    assert not hasattr(found, "granted")


def test_a_user_without_permissions_has_none():
    user = get_user_model().objects.create_user("pat")
    assert ModelBackend().get_user(user.pk).get_all_permissions() == set()


def test_get_user_refuses_inactive_missing_and_impossible_ids():
    user = get_user_model().objects.create_user("pat", is_active=False)
    assert ModelBackend().get_user(user.pk) is None
    assert ModelBackend().get_user(user.pk + 1000) is None
    assert ModelBackend().get_user(2**64) is None
    assert ModelBackend().get_user("not a number") is None


def test_a_superuser_has_every_permission():
    user = get_user_model().objects.create_superuser("root", password="x")
    found = ModelBackend().get_user(user.pk)
    assert found.has_perm("calls.manage_escalation")
    assert found.get_all_permissions() == backends.ModelBackend().get_all_permissions(fresh(user))


def test_a_permission_made_after_the_names_were_read_is_named_too():
    from django.contrib.contenttypes.models import ContentType

    user = get_user_model().objects.create_user("pat")
    user.groups.add(ensure_groups()[RECEPTIONISTS])
    assert ModelBackend().get_user(user.pk).has_perm("calls.view_call")  # names read
    made = Permission.objects.create(
        codename="sing_on_hold",
        name="Can sing on hold",
        content_type=ContentType.objects.get_for_model(Group),
    )
    user.user_permissions.add(made)
    assert ModelBackend().get_user(user.pk).has_perm("auth.sing_on_hold")
