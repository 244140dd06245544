"""The demo users: two who can log in (a receptionist and a manager) and two more who only
appear in the data, so calls and callbacks are spread over several people."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model

from receptionist.roles import CLIENTS, MANAGERS, RECEPTIONISTS, ensure_groups

PEOPLE = [
    ("reception", "Rita", "Reception", RECEPTIONISTS, True),
    ("manager", "Maya", "Manager", MANAGERS, True),
    ("jordan", "Jordan", "Lee", RECEPTIONISTS, False),
    ("sam", "Sam", "Okafor", RECEPTIONISTS, False),
]


def ensure_staff(out) -> list:
    """The demo users, created if missing. Their passwords are printed only when DEBUG is on."""
    User = get_user_model()
    groups = ensure_groups()
    staff = []
    for username, first, last, group, login in PEOPLE:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                # example.com never receives mail: notices show in the console (make run).
                "email": f"{username}@example.com",
            },
        )
        user.groups.add(groups[group])
        if group == MANAGERS and not user.is_staff:
            user.is_staff = True  # managers edit the callback policy in the admin
            user.save(update_fields=["is_staff"])
        if login:
            demo_password(user, created, out, group[:-1].lower())
        elif created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        staff.append(user)
    if not settings.DEBUG:
        out.write("DEBUG is off: demo users have no password (set one with changepassword).")
    elif settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        out.write(
            "E-mails (escalation notices, callback reminders, messages for the businesses) "
            "are printed in this terminal."
        )
    return staff


def managers_of(staff) -> list:
    """The demo people who are managers: they acknowledge and resolve escalations."""
    return [user for user in staff if user.groups.filter(name=MANAGERS).exists()]


def ensure_client(business, out):
    """The demo client: a person at `business` (a client of the answering service), who
    logs in to its portal. Their password is printed only when DEBUG is on."""
    from receptionist.models import StaffBusiness

    User = get_user_model()
    user, created = User.objects.get_or_create(
        username="client",
        defaults={"first_name": "Clara", "last_name": "Client", "email": "client@example.com"},
    )
    user.groups.add(ensure_groups()[CLIENTS])
    StaffBusiness.objects.filter(user=user).exclude(business=business).delete()
    StaffBusiness.objects.get_or_create(user=user, business=business)
    demo_password(user, created, out, f"client at {business.name}: /portal/")
    return user


def demo_password(user, created: bool, out, what: str) -> None:
    """A fresh random password, printed, when DEBUG is on; else none (a new demo user
    gets an unusable one, an existing one keeps theirs)."""
    if settings.DEBUG:
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.save(update_fields=["password"])
        out.write(f"Demo login: {user.username} / {password}  ({what})")
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
