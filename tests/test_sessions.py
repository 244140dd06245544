"""The session engine: Django's database sessions, read with one plain statement."""

from datetime import timedelta

import pytest
from django.utils import timezone

from receptionist import auth
from receptionist.models import Session
from receptionist.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_saved_session_is_read_back_in_one_query(django_assert_num_queries):
    session = SessionStore()
    session["who"] = "<b>pat</b>"
    session.save()
    with django_assert_num_queries(1):
        assert SessionStore(session.session_key)["who"] == "<b>pat</b>"


def test_an_expired_session_is_empty_and_gets_a_new_key():
    session = SessionStore()
    session["who"] = "pat"
    session.save()
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(session.session_key)
    assert dict(expired.items()) == {}
    assert expired.session_key is None


@pytest.mark.parametrize("key", ["nosuchsessionkeyatall12345", "bad\x00key-with-nul-0123"])
def test_an_unknown_or_forged_key_is_no_session(key, client):
    store = SessionStore(key)
    assert dict(store.items()) == {}
    client.cookies["sessionid"] = key
    assert client.get("/healthz").status_code == 200


def test_a_page_reads_its_session_person_and_permissions_in_one_query(client, receptionist):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(receptionist)
    client.get("/callbacks/counts/")  # the process has read the permissions' names
    row = Session.objects.get()
    assert row.user_id == receptionist.pk
    with CaptureQueriesContext(connection) as queries:
        # The badge: one count besides who is asking.
        assert client.get("/callbacks/counts/").status_code == 200
    reads = [q["sql"] for q in queries.captured_queries]
    assert len(reads) == 2, reads
    # The permissions: in the statement, or through the function it calls on PostgreSQL.
    assert "receptionist_session" in reads[0]
    assert ("auth_group_permissions" in reads[0]) != (auth.PERMISSION_IDS_FUNCTION in reads[0])


def test_the_permission_ids_function_answers_what_the_subquery_answers(receptionist, manager):
    """On PostgreSQL, receptionist_permission_ids(person) is the subquery it stands for: a
    person's own permissions and their groups', changes seen at once."""
    from django.contrib.auth.models import Permission
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the function exists on PostgreSQL only")
    own = Permission.objects.get(codename="add_group")  # no role has it
    receptionist.user_permissions.add(own)

    def both(person):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {auth.PERMISSION_IDS_FUNCTION}(%s), "
                f"{auth._granted_ids_subquery('%s', 'string_agg')}",
                [person.pk, person.pk, person.pk],
            )
            through_function, inline = cursor.fetchone()
        return set((through_function or "").split(",")), set((inline or "").split(","))

    for person in (receptionist, manager, receptionist):
        through_function, inline = both(person)
        assert through_function == inline
        assert len(through_function) > 1
    assert str(own.pk) in both(receptionist)[0] and str(own.pk) not in both(manager)[0]
    receptionist.groups.clear()
    assert both(receptionist)[0] == {str(own.pk)}


def test_the_person_read_with_a_session_is_only_taken_for_that_id(receptionist, manager):
    from receptionist import auth

    auth.read_with_the_session(manager)
    # Asked for someone else: read afresh, never the person left by another session.
    assert auth.ModelBackend().get_user(receptionist.pk) == receptionist
    auth.read_with_the_session(manager)
    assert auth.ModelBackend().get_user(manager.pk) is manager
    # Taken once: a second ask reads afresh.
    assert auth.ModelBackend().get_user(manager.pk) is not manager


def test_a_role_change_counts_on_the_next_page(client, receptionist):
    from receptionist.roles import MANAGERS, ensure_groups

    client.force_login(receptionist)
    assert client.get("/escalations/").status_code == 403
    receptionist.groups.add(ensure_groups()[MANAGERS])
    assert client.get("/escalations/").status_code == 200


def test_a_session_nobody_is_logged_in_to_reads_no_person():
    session = SessionStore()
    session["who"] = "anonymous"
    session.save()
    assert Session.objects.get(pk=session.session_key).user_id is None
    assert SessionStore(session.session_key)["who"] == "anonymous"
