"""Back up the database to one file: a pg_dump custom-format archive on PostgreSQL, a copy
made with SQLite's online backup API on the zero-setup file (receptionist.backups)."""

import os
import shlex
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from receptionist.backups import (
    BackupError,
    archive_tables,
    backup_name,
    pg_backup,
    sqlite_backup,
    where,
)


def size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class Command(BaseCommand):
    help = (
        "Back up the database to backups/calllog-YYYYMMDD-HHMMSS.dump (pg_dump -Fc) on "
        "PostgreSQL, or .sqlite3 on SQLite; restore a dump with `manage.py restore FILE`."
    )
    # A backup must run whatever the checks say (an emergency is no time to fix a warning),
    # and a restore may bring back a database the current code's checks know nothing of.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir",
            dest="directory",
            type=Path,
            help="The directory for the new file (default: $BACKUP_DIR, else backups/ in the "
            "project). Made if missing, readable by its owner only.",
        )
        parser.add_argument(
            "-o",
            "--output",
            type=Path,
            help="Write exactly this file instead (never over an existing one).",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="The connection to back up."
        )

    def handle(self, *args, directory=None, output=None, database=DEFAULT_DB_ALIAS, **options):
        connection = connections[database]
        settings_dict = connection.settings_dict
        if connection.vendor not in ("postgresql", "sqlite"):
            raise CommandError(f"Backups know PostgreSQL and SQLite, not {connection.vendor}.")
        postgresql = connection.vendor == "postgresql"
        if output is None:
            directory = directory or Path(
                os.environ.get("BACKUP_DIR") or settings.BASE_DIR / "backups"
            )
            output = directory / backup_name(".dump" if postgresql else ".sqlite3")
        output = output.absolute()
        # Relative to here when it is below here: short enough to paste into the restore.
        shown = output.relative_to(Path.cwd()) if output.is_relative_to(Path.cwd()) else output

        self.stdout.write(f"Backing up {where(settings_dict)} to {shown} ...")
        started = time.monotonic()
        try:
            if postgresql:
                tables = f", {len(archive_tables(pg_backup(settings_dict, output)))} tables"
            else:
                sqlite_backup(settings_dict, output)
                tables = ""
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            # A --dir that is a file, a directory that cannot be written: said, not a trace.
            raise CommandError(f"Cannot write {shown}: {exc.strerror}.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {shown} ({size_text(output.stat().st_size)}{tables}) "
                f"in {time.monotonic() - started:.1f}s."
            )
        )
        if postgresql:
            self.stdout.write(f"Restore it with: make restore FILE={shlex.quote(str(shown))}")
