"""Create a receptionist or a manager (for every business or some), or a client (a person at
one client business, who sees it in the portal)."""

import getpass
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from receptionist.people import ROLES, person_save


class Command(BaseCommand):
    help = (
        "Create a user with a role: create_staff USERNAME --role receptionist|manager|client "
        "[--business NAME ...]"
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(ROLES), required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--business",
            action="append",
            default=[],
            metavar="NAME",
            help="A business they work for (repeat it for several); none: every business. "
            "A client names exactly one: the business they are at.",
        )
        parser.add_argument(
            "--password-file",
            type=Path,
            help="Read the password from this file (first line) instead of asking for it.",
        )

    def handle(
        self,
        *args,
        username,
        role,
        email,
        first_name,
        last_name,
        password_file,
        business,
        **options,
    ):
        if not password_file and not sys.stdin.isatty():
            # Before anything else: a script or a container without a terminal gets the
            # reason, not a traceback from the password prompt.
            raise CommandError(
                "No terminal to ask for the password on: give it in a file with "
                "--password-file FILE (its first line is the password)."
            )
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists.")
        businesses = _businesses_named(business)
        if password_file:
            try:
                password = password_file.read_text().splitlines()[0]
            except (OSError, IndexError) as exc:
                raise CommandError(f"Cannot read a password from {password_file}: {exc}") from exc
        else:
            try:
                password = getpass.getpass("Password: ")
                again = getpass.getpass("Password (again): ")
            except (EOFError, KeyboardInterrupt) as exc:
                raise CommandError("No password given: nobody was created.") from exc
            if password != again:
                raise CommandError("The passwords do not match.")
        try:
            person_save(
                user=None,
                username=username,
                role=role,
                business_ids=businesses,
                first_name=first_name,
                last_name=last_name,
                email=email,
                password=password,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        works_for = "every business"
        if businesses:
            works_for = ", ".join(business)
        if role == "client":
            self.stdout.write(
                self.style.SUCCESS(f"Created client {username}, at {works_for} (/portal/).")
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Created {role} {username}, for {works_for}."))


def _businesses_named(names: list[str]) -> list[int]:
    """The ids of the businesses named (exactly, in any case), or a CommandError naming
    those that do not exist."""
    from django.apps import apps

    Business = apps.get_model("callers", "Business")
    found, missing = [], []
    for name in names:
        pk = Business.objects.filter(name__iexact=name.strip()).values_list("pk", flat=True)
        pk = pk.first()
        (found if pk is not None else missing).append(pk if pk is not None else name)
    if missing:
        known = ", ".join(Business.objects.values_list("name", flat=True)) or "none yet"
        raise CommandError(
            f"No business named {', '.join(map(repr, missing))} (there are: {known})."
        )
    return list(dict.fromkeys(found))
