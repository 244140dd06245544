"""The authentication backend: Django's, reading a person's permissions in one query.

Every page asks what its user may do (the navigation, the view's own check). Django's
ModelBackend reads the user's own permissions and their groups' permissions in two ORM
queries, and building those two queries cost about 1.6 ms of each page's Python time: more
than the rest of the request's database work together. This backend reads the same set
with one SQL statement over the same tables, once per request (cached on the user object,
as Django does), so a role change still takes effect on the person's next page.

The person and their permissions are read together: `get_user` (once per request, for the
session's user) asks for the user's row and the set in a single statement, so a page pays one
round trip for "who is this and what may they do".

The session is read in that same statement: the session table keeps the id of the person
it belongs to (receptionist.models.Session), so receptionist/sessions.py reads the session,
the person and their permissions in one statement and leaves the person here
(`_read_with_the_session`) for `get_user`, which then asks nothing more. The person is
only taken for the very id the session names, and each session read replaces it.

Sessions remember the backend that logged them in: after upgrading from a version that
used django.contrib.auth.backends.ModelBackend, everyone logs in once more.
"""

from contextvars import ContextVar
from datetime import UTC
from functools import lru_cache

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone


def _permissions_sql(select: str = "ct.app_label, p.codename") -> str:
    User = get_user_model()
    return (
        f"SELECT {select} FROM {Permission._meta.db_table} p "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
        f"WHERE p.id IN ("
        f"SELECT up.permission_id FROM {User.user_permissions.through._meta.db_table} up "
        f"WHERE up.user_id = %s "
        f"UNION SELECT gp.permission_id FROM {Group.permissions.through._meta.db_table} gp "
        f"JOIN {User.groups.through._meta.db_table} ug ON ug.group_id = gp.group_id "
        f"WHERE ug.user_id = %s)"
    )


def _granted_ids_sql(pk: str, vendor: str) -> str:
    """The ids of the permissions of the user whose id is the column `pk`, as one text
    ("12,40,41"): their own and their groups', without joining the permission and content
    type tables (which doubled the statement's planning time); their names come from
    `_names_of`. On PostgreSQL through PERMISSION_IDS_FUNCTION, planned once per
    connection (migration receptionist/0007 says why)."""
    if vendor == "postgresql":
        return f"{PERMISSION_IDS_FUNCTION}({pk})"
    return _granted_ids_subquery(pk, "group_concat")


def _granted_ids_subquery(pk: str, aggregate: str) -> str:
    User = get_user_model()
    return (
        f"(SELECT {aggregate}(CAST(x.permission_id AS TEXT), ',') FROM ("
        f"SELECT up.permission_id FROM {User.user_permissions.through._meta.db_table} up "
        f"WHERE up.user_id = {pk} "
        f"UNION ALL SELECT gp.permission_id FROM {Group.permissions.through._meta.db_table} gp "
        f"JOIN {User.groups.through._meta.db_table} ug ON ug.group_id = gp.group_id "
        f"WHERE ug.user_id = {pk}) x)"
    )


PERMISSION_IDS_FUNCTION = "receptionist_permission_ids"


def permission_ids_function_sql() -> str:
    """The PostgreSQL function behind _granted_ids_sql: the same subquery, its plan made
    once per connection for any person (a generic plan, for this function only)."""
    return (
        f"CREATE OR REPLACE FUNCTION {PERMISSION_IDS_FUNCTION}(person bigint) RETURNS text "
        "LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $body$ "
        f"BEGIN RETURN {_granted_ids_subquery('person', 'string_agg')}; END $body$"
    )


# Every permission's "app.codename" by id. Permissions are rows migrations make and never
# rename; one this process has not seen yet (a migration ran since) is read on its first use.
_permission_names: dict[int, str] = {}


def read_permission_names() -> None:
    """(Re)read every permission's name: one query."""
    global _permission_names
    _permission_names = {
        pk: f"{app}.{codename}"
        for pk, app, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }


def _names_of(ids: set[int]) -> set[str]:
    if not ids <= _permission_names.keys():
        read_permission_names()
    return {_permission_names[pk] for pk in ids if pk in _permission_names}


def user_columns_sql(alias: str = "u") -> str:
    """The user's columns (in the model's field order) and, as one more text column, the
    ids of their permissions, for a statement where the user table is `alias`."""
    return _user_columns_sql(alias, connection.vendor)


@lru_cache(maxsize=8)
def _user_columns_sql(alias: str, vendor: str) -> str:
    # Written once per process: every page's session statement asks for it.
    User = get_user_model()
    columns = ", ".join(f"{alias}.{field.column}" for field in User._meta.concrete_fields)
    pk = f"{alias}.{User._meta.pk.column}"
    return f"{columns}, {_granted_ids_sql(pk, vendor)}, {_business_ids_sql(pk, vendor)}"


def _business_ids_sql(pk: str, vendor: str) -> str:
    """The ids of the businesses the user whose id is the column `pk` is limited to, as one
    text ("3,7"); NULL: none, every business (receptionist.models.StaffBusiness)."""
    from receptionist.models import StaffBusiness

    aggregate = "string_agg" if vendor == "postgresql" else "group_concat"
    return (
        f"(SELECT {aggregate}(CAST(sb.business_id AS TEXT), ',') "
        f"FROM {StaffBusiness._meta.db_table} sb WHERE sb.user_id = {pk})"
    )


@lru_cache(maxsize=2)
def _user_attnames(User) -> tuple[list[str], int]:
    fields = User._meta.concrete_fields
    return [field.attname for field in fields], fields.index(User._meta.pk)


def user_from_row(values):
    """The user (with their permissions read) from the columns of user_columns_sql, or
    None when the row has no user (a session nobody is logged in to)."""
    User = get_user_model()
    attnames, pk_index = _user_attnames(User)
    *columns, granted, businesses = values
    if columns[pk_index] is None:
        return None
    if connection.vendor == "sqlite":
        columns = _sqlite_times(User, columns)
    user = User.from_db(connection.alias, attnames, columns)
    if user.is_active and not user.is_superuser:
        user._perm_cache = _names_of({int(pk) for pk in granted.split(",")} if granted else set())
    # The businesses they are limited to (callers.models.BusinessQuerySet.ids_for).
    user._business_ids = sorted(int(pk) for pk in businesses.split(",")) if businesses else None
    return user


def _sqlite_times(User, columns: list) -> list:
    """SQLite hands a raw statement its times as text in UTC: read as the ORM reads them
    (aware, in UTC), so that saving the person (a new password) keeps them as they were."""
    from django.db.models import DateTimeField
    from django.utils.dateparse import parse_datetime

    read = list(columns)
    for index, field in enumerate(User._meta.concrete_fields):
        value = read[index]
        if isinstance(field, DateTimeField) and value is not None:
            if isinstance(value, str):
                value = parse_datetime(value)
            if value is not None and timezone.is_naive(value):
                value = timezone.make_aware(value, UTC)
            read[index] = value
    return read


# The person read with this request's session (receptionist/sessions.py), for get_user.
_read_with_the_session: ContextVar = ContextVar("read_with_the_session", default=None)


def read_with_the_session(user) -> None:
    """What the session just read says about its person: the user, or None."""
    _read_with_the_session.set(user)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        User = get_user_model()
        try:
            user_id = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        if isinstance(user_id, int) and not -(2**63) <= user_id < 2**63:
            return None  # no database holds such an id (and PostgreSQL would refuse it)
        user = _read_with_the_session.get()
        _read_with_the_session.set(None)
        if user is None or user.pk != user_id:
            User = get_user_model()
            table, pk = User._meta.db_table, User._meta.pk.column
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {user_columns_sql()} FROM {table} u WHERE u.{pk} = %s", [user_id]
                )
                row = cursor.fetchone()
            user = user_from_row(row) if row else None
        if user is None or not self.user_can_authenticate(user):
            return None
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(), [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app}.{codename}" for app, codename in cursor}
        return user_obj._perm_cache
