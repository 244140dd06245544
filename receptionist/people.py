"""The people who use the app: their role and the businesses they may work for.

person_save is the one gate for both ways of making or changing someone: the command
create_staff and the managers' page (/businesses/people/). Its rules:

- Only a manager who works for every business manages people (someone limited to some
  businesses could otherwise give themselves, or a friend, every business).
- A role is one of receptionist, manager or client; a client is at exactly one business.
- Receptionists and managers may be limited to some businesses (none: every business).
- A username no one else has, in any case; a valid e-mail address; a new person's password
  passes the password validators.
- Nobody changes their own role, businesses or active state (a manager cannot lock
  themselves out by mistake), and only a superuser changes a superuser.

Businesses are named by id: this module, on the ground floor, imports no app above it.
"""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction

from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS, MANAGERS, RECEPTIONISTS, ensure_groups

ROLES = {"receptionist": RECEPTIONISTS, "manager": MANAGERS, "client": CLIENTS}
ROLE_OF_GROUP = {group: role for role, group in ROLES.items()}

MANAGERS_OF_EVERY_BUSINESS = (
    "Only a manager who works for every business adds people or changes what they may see."
)
CLIENT_NEEDS_ONE = "A client is at exactly one business: pick it."
NOT_YOURSELF = "You cannot change your own role, businesses or access: ask another manager."
SUPERUSER = "Only a superuser changes a superuser."
NO_SUCH_BUSINESS = "No such business: pick one of the list."
PASSWORD_NEEDED = "Give them a password (they can change it later)."
# The advisory lock person_save holds on PostgreSQL (any number no other lock uses).
PEOPLE_LOCK = 4_242_001


def may_manage_people(user) -> bool:
    """A manager (or superuser) who works for every business."""
    if user is None:
        return True  # a command run on the server
    if not user.has_perm("callers.add_business"):
        return False
    if user.is_superuser:
        return True
    ids = getattr(user, "_business_ids", "unread")
    if ids == "unread":
        ids = list(StaffBusiness.objects.filter(user=user).values_list("business_id", flat=True))
    return not ids


def role_of(person) -> str:
    """The person's role ("receptionist", "manager", "client"), or "" for none."""
    names = {group.name for group in person.groups.all()}
    for group in (MANAGERS, RECEPTIONISTS, CLIENTS):
        if group in names:
            return ROLE_OF_GROUP[group]
    return ""


@transaction.atomic
def person_save(
    *,
    user,
    person=None,
    username: str,
    role: str,
    business_ids=(),
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    active: bool = True,
    password: str | None = None,
):
    """Add someone (`person` None) or change them: their name, e-mail, role, the businesses
    they work for (`business_ids`; none: every business) and whether they may log in.
    `user` is who does it (None: a command on the server). A ValidationError names the
    field of each refusal."""
    User = get_user_model()
    if not may_manage_people(user):
        raise ValidationError(MANAGERS_OF_EVERY_BUSINESS)
    if connection.vendor == "postgresql":
        # People are saved one at a time (held until the transaction ends): two adding
        # "sam" and "Sam" at once, the second is told the name is taken.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PEOPLE_LOCK])
    if person is not None:
        person = User.objects.select_for_update().get(pk=person.pk)
        if person.is_superuser and not (user is None or user.is_superuser):
            raise ValidationError(SUPERUSER)
    errors: dict[str, list[str]] = {}
    # As Django stores it (NFKC: full-width letters are the plain ones), before it is
    # compared with the others.
    username = User.normalize_username(username.strip())
    business_ids = sorted(set(business_ids))
    if role not in ROLES:
        errors["role"] = ["Pick a role: receptionist, manager or client."]
    elif role == "client" and len(business_ids) != 1:
        errors["businesses"] = [CLIENT_NEEDS_ONE]
    Business = apps.get_model("callers", "Business")
    if len(Business.objects.filter(pk__in=business_ids)) != len(business_ids):
        errors.setdefault("businesses", []).append(NO_SUCH_BUSINESS)
    same_name = User.objects.filter(username__iexact=username)
    if person is not None:
        same_name = same_name.exclude(pk=person.pk)
    if same_name.exists():
        errors["username"] = [f"“{username}” is taken: choose another username."]
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            errors["email"] = exc.messages
    if person is not None and user is not None and person.pk == user.pk:
        before = (role_of(person), _business_ids_of(person), person.is_active)
        if before != (role, business_ids, active):
            errors.setdefault("role", []).append(NOT_YOURSELF)
    is_new = person is None
    person = person or User()
    person.username = username
    person.first_name, person.last_name, person.email = first_name, last_name, email.strip()
    person.is_active = active
    if not person.is_superuser:
        person.is_staff = role == "manager"  # managers edit the callback policy in the admin
    if is_new and not password:
        errors["password"] = [PASSWORD_NEEDED]
    elif password and "\x00" in password:
        errors["password"] = ["A password cannot contain a NUL character."]
    elif password:
        try:
            validate_password(password, person)
        except ValidationError as exc:
            errors["password"] = exc.messages
    try:
        person.full_clean(exclude=["password", *(name for name in errors if name != "role")])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if password:
        person.set_password(password)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        raise ValidationError({"username": [f"“{username}” is taken: choose another."]}) from None
    groups = ensure_groups()
    person.groups.remove(*groups.values())
    person.groups.add(groups[ROLES[role]])
    StaffBusiness.objects.filter(user=person).exclude(business_id__in=business_ids).delete()
    have = set(StaffBusiness.objects.filter(user=person).values_list("business_id", flat=True))
    StaffBusiness.objects.bulk_create(
        [StaffBusiness(user=person, business_id=pk) for pk in business_ids if pk not in have]
    )
    if password:
        # A manager giving a new password lifts a lockout of that name (the locked page
        # says so): the new password is the way back in.
        from axes.models import AccessAttempt

        AccessAttempt.objects.filter(username=person.username).delete()
    return person


def _business_ids_of(person) -> list[int]:
    return sorted(StaffBusiness.objects.filter(user=person).values_list("business_id", flat=True))
