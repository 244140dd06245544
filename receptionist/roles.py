"""The roles of the front desk, as Django groups, and the one query for "who has this role"."""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from receptionist.statements import RowsStatement

RECEPTIONISTS = "Receptionists"
MANAGERS = "Managers"
# People at a client business of an answering service: they see their own business in
# the portal (/portal/) and nothing of the front desk's pages.
CLIENTS = "Clients"

# What each group may do. Managers can do everything receptionists can, and more.
RECEPTIONIST_PERMISSIONS = [
    "callers.view_caller",
    "callers.add_caller",
    "callers.change_caller",
    "callers.view_callerphone",
    "callers.add_callerphone",
    "callers.change_callerphone",
    "callers.view_business",
    "calls.view_call",
    "calls.add_call",
    "calls.change_call",
    "calls.view_escalation",
    "calls.add_escalation",
    "followups.view_callback",
    "followups.add_callback",
    "followups.change_callback",
    "followups.view_callbackattempt",
    "followups.add_callbackattempt",
]
MANAGER_PERMISSIONS = [
    *RECEPTIONIST_PERMISSIONS,
    "callers.merge_caller",
    "callers.flag_caller",
    "callers.view_callerview",
    "calls.change_escalation",
    "calls.manage_escalation",
    "followups.manage_callback",
    "followups.view_callbackpolicy",
    "followups.add_callbackpolicy",
    "followups.change_callbackpolicy",
    "followups.delete_callbackpolicy",
    "followups.view_promisekeeping",
    "followups.add_promisekeeping",
    "followups.change_promisekeeping",
    "callers.add_business",
    "callers.change_business",
    "followups.view_reports",
    "followups.export_data",
    "followups.view_webhookendpoint",
    "followups.add_webhookendpoint",
    "followups.change_webhookendpoint",
    "followups.delete_webhookendpoint",
]
CLIENT_PERMISSIONS = [
    "calls.read_messages",
]


def users_in(*groups: str, superusers: bool = False):
    """Active users in any of these role groups (and superusers if asked), each once, by
    username: a bounded list for pickers and notices, never every user."""
    condition = Q(groups__name__in=groups)
    if superusers:
        condition |= Q(is_superuser=True)
    return (
        get_user_model().objects.filter(condition, is_active=True).distinct().order_by("username")
    )


def front_desk_staff():
    """Receptionists and managers: who can take a call or keep a callback."""
    return users_in(RECEPTIONISTS, MANAGERS)


# The people of a role as (id, name) for pickers (the filter bars, "Assign to"), read once
# per process and kept for settings.STAFF_CHOICES_SECONDS: reading them cost a page a query
# and a millisecond each time. Saving or deleting a person, or changing their groups,
# clears them in this process (receptionist.apps); another process shows a new colleague
# in its pickers within that time. A person sent is always checked in the database.
_staff_choices: dict[tuple[str, ...], tuple[float, list[tuple[int, str]]]] = {}
# Counts the times the lists above were read or cleared: what was drawn from them is
# redrawn when it changes (receptionist.formfields.filter_bar).
_staff_generation = [0]


def staff_choices_generation() -> int:
    return _staff_generation[0]


def staff_choices(*groups: str) -> list[tuple[int, str]]:
    """(id, name) of the active people in these role groups, by username; by default the
    front desk staff (front_desk_staff)."""
    groups = groups or (RECEPTIONISTS, MANAGERS)
    now = time.monotonic()
    kept = _staff_choices.get(groups)
    if kept is None or now - kept[0] >= settings.STAFF_CHOICES_SECONDS:
        kept = _staff_choices[groups] = (
            now,
            [(user.pk, display_name(user)) for user in users_in(*groups)],
        )
        _staff_generation[0] += 1
    return kept[1]


def forget_staff_choices(**kwargs) -> None:
    """Signal receiver: someone's name, state or groups changed."""
    _staff_choices.clear()
    _staff_generation[0] += 1


def managers():
    return users_in(MANAGERS)


def emails_of(users, *, include_unavailable: bool) -> list[str]:
    """The e-mail addresses of these people, leaving out those marked unavailable unless
    asked, and those with no address."""
    users = users.exclude(email="")
    if not include_unavailable:
        users = users.exclude(staff_profile__available=False)
    return sorted(set(users.order_by().values_list("email", flat=True)))


# The people a page names, read by a statement compiled once per number of them.
_PEOPLE = RowsStatement(lambda: get_user_model().objects.all(), most=8)


def fetch_people(named) -> None:
    """Read the people these foreign keys name, [(instance, "field_name"), ...], in one
    query, and cache each on its instance as select_related would have. A page that names
    several people joins fewer tables: each join more costs PostgreSQL time to plan."""
    ids = sorted({getattr(owner, f"{name}_id") for owner, name in named} - {None})
    if len(ids) <= _PEOPLE.most:
        people = {person.pk: person for person in _PEOPLE.of(ids)}
    else:
        people = get_user_model().objects.in_bulk(ids)
    for owner, name in named:
        pk = getattr(owner, f"{name}_id")
        if pk is not None:
            owner._meta.get_field(name).set_cached_value(owner, people.get(pk))


# The columns of a person that a list's row reads (display_name, and whether they have an
# e-mail address): the rest of the user table is left unread (`.only(...)`).
PERSON_COLUMNS = ("username", "first_name", "last_name", "email")


def display_name(user, nobody: str = "Someone else") -> str:
    """How the app names a person in messages: full name, else username."""
    if user is None:
        return nobody
    return user.get_full_name() or user.username


def ensure_groups() -> dict[str, "Group"]:  # noqa: F821
    """The role groups with their permissions, (re)created if missing.

    A data migration creates them; this puts them back after a flush (transactional
    tests, `manage.py flush`) and is what commands use to find them.
    """
    from django.contrib.auth.models import Group, Permission

    groups = {}
    for name, dotted_names in (
        (RECEPTIONISTS, RECEPTIONIST_PERMISSIONS),
        (MANAGERS, MANAGER_PERMISSIONS),
        (CLIENTS, CLIENT_PERMISSIONS),
    ):
        group, created = Group.objects.get_or_create(name=name)
        if created:
            q = [dotted.split(".") for dotted in dotted_names]
            group.permissions.set(
                Permission.objects.filter(
                    content_type__app_label__in={a for a, _ in q}, codename__in={c for _, c in q}
                )
            )
        groups[name] = group
    return groups
