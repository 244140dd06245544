"""Restore a backup made by `manage.py backup` (pg_dump -Fc) into the PostgreSQL database,
replacing what is there, in one transaction (receptionist.backups)."""

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from receptionist.backups import (
    BackupError,
    archive_header,
    archive_tables,
    check_archive,
    other_sessions,
    pg_archive_contents,
    pg_restore,
    sqlite_restore_advice,
    where,
)


class Command(BaseCommand):
    help = (
        "Restore a pg_dump custom-format backup (make backup) into the PostgreSQL database, "
        "replacing its tables and rows in one transaction. Asks first, unless --yes."
    )
    # A backup must run whatever the checks say (an emergency is no time to fix a warning),
    # and a restore may bring back a database the current code's checks know nothing of.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The backup: backups/calllog-....dump")
        parser.add_argument(
            "--yes",
            "--noinput",
            "--no-input",
            dest="yes",
            action="store_true",
            help="Do not ask: the database's contents are replaced by the backup's.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The connection.")

    def handle(self, *args, file, yes=False, database=DEFAULT_DB_ALIAS, **options):
        connection = connections[database]
        settings_dict = connection.settings_dict
        if connection.vendor == "sqlite":
            if not file.is_file():
                raise CommandError(f"{file}: no such file.")
            raise CommandError(sqlite_restore_advice(settings_dict, file))
        if connection.vendor != "postgresql":
            raise CommandError(f"restore knows PostgreSQL, not {connection.vendor}.")
        target = where(settings_dict)
        try:
            check_archive(file)
            contents = pg_archive_contents(file, settings_dict)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        try:
            with connection.cursor() as cursor:
                present = set(connection.introspection.table_names(cursor))
                others = other_sessions(cursor)
        except DatabaseError as exc:
            raise CommandError(
                f"Cannot reach {target} to restore into (create it first if it is new): {exc}"
            ) from exc
        # Our own session must hold nothing that the restore drops.
        connection.close()

        header = archive_header(contents)
        dumped = archive_tables(contents)
        self.stdout.write(
            f"Restoring {file} (made {header.get('created', 'at an unknown time')} from "
            f"database {header.get('dbname', '?')!r}, {len(dumped)} tables) into {target}."
        )
        if not dumped:
            raise CommandError(f"{file} holds no tables: not restoring an empty archive.")
        if extra := sorted(present - dumped):
            self.stderr.write(
                f"Not in the backup, so left as they are: {', '.join(extra)}. Made by a newer "
                "version's migrations? Restore into the version the backup was made with, or "
                "into a new empty database.",
                style_func=self.style.WARNING,
            )
        if others:
            self.stderr.write(
                f"{others} other connection(s) to this database (web, worker?): stop them "
                "first; the restore waits for their locks, and they would see it happen.",
                style_func=self.style.WARNING,
            )
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError(
                    f"Not restored: this replaces everything in {target}. Run it again with "
                    "--yes (make restore ... YES=1) to go ahead, or at a terminal, to be asked."
                )
            answer = input(f"Everything in {target} will be replaced. Type 'yes' to go on: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Not restored: nothing was changed.")

        started = time.monotonic()
        try:
            warnings = pg_restore(settings_dict, file)
        except BackupError as exc:
            raise CommandError(f"{exc}\nNothing was changed (one transaction).") from exc
        if warnings:
            self.stderr.write(warnings, style_func=self.style.WARNING)
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {file} into {target} in {time.monotonic() - started:.1f}s. Run "
                "`manage.py migrate` if the app is newer than the backup, then start it again."
            )
        )
