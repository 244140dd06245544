"""Create a receptionist or a manager."""

import getpass
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from receptionist.roles import MANAGERS, RECEPTIONISTS, ensure_groups

ROLES = {"receptionist": RECEPTIONISTS, "manager": MANAGERS}


class Command(BaseCommand):
    help = "Create a front desk user with a role: create_staff USERNAME --role receptionist|manager"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(ROLES), required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--password-file",
            type=Path,
            help="Read the password from this file (first line) instead of asking for it.",
        )

    def handle(self, *args, username, role, email, first_name, last_name, password_file, **options):
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
        user = User(
            username=username,
            email=email,
            first_name=first_name,
            last_name=last_name,
            # Managers edit the callback policy in the admin.
            is_staff=role == "manager",
        )
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        with transaction.atomic():
            user.set_password(password)
            user.save()
            user.groups.add(ensure_groups()[ROLES[role]])
        self.stdout.write(self.style.SUCCESS(f"Created {role} {username}."))
