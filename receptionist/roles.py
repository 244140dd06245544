"""The roles of the front desk, as Django groups, and the one query for "who has this role"."""

from django.contrib.auth import get_user_model
from django.db.models import Q

RECEPTIONISTS = "Receptionists"
MANAGERS = "Managers"

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


def managers():
    return users_in(MANAGERS)


def emails_of(users, *, include_unavailable: bool) -> list[str]:
    """The e-mail addresses of these people, leaving out those marked unavailable unless
    asked, and those with no address."""
    users = users.exclude(email="")
    if not include_unavailable:
        users = users.exclude(staff_profile__available=False)
    return sorted(set(users.order_by().values_list("email", flat=True)))


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
