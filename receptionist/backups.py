"""Backups of the database: pg_dump and pg_restore for PostgreSQL, SQLite's own online backup
API for the zero-setup file. The `backup` and `restore` management commands are the way in;
these functions take a connection's settings dict so that a test can aim them anywhere."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.db.backends.postgresql.client import DatabaseClient
from django.utils import timezone

# The first bytes of a pg_dump custom-format (-Fc) archive.
CUSTOM_FORMAT_MAGIC = b"PGDMP"
# ... and of a SQLite database.
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or a restore that could not be done; the message says why."""


def backup_name(suffix: str, now=None) -> str:
    """calllog-YYYYMMDD-HHMMSS<suffix>, in local time: sorts by age, and says when at a glance."""
    moment = timezone.localtime(now or timezone.now())
    return f"calllog-{moment:%Y%m%d-%H%M%S}{suffix}"


def where(settings_dict) -> str:
    """The database a settings dict names, for messages: never its password."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return str(settings_dict["NAME"])
    host = settings_dict.get("HOST") or "the local socket"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"database {settings_dict.get('NAME')!r} on {host}{port}"


def pg_invocation(settings_dict, tool: str, *args: str) -> tuple[list[str], dict[str, str]]:
    """The command line and the environment to run a PostgreSQL client tool with. The
    connection goes in libpq's environment variables, the password too: a command line is
    visible to every user of the machine (ps), the environment only to its owner."""
    if not settings_dict.get("NAME"):
        raise BackupError("DATABASE_URL names no database.")
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(
            f"{tool} is not installed here: install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client), at least the server's version."
        )
    # Django's own dbshell reads the password, the SSL files, the service and the passfile
    # out of the settings; the host, port, user and database go beside them.
    _, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    env = {**os.environ, **(env or {})}
    for key, variable in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("NAME", "PGDATABASE"),
    ):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    return [executable, *args], env


def _run(argv, env, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, stderr=subprocess.PIPE, check=False, **kwargs)
    if result.returncode != 0:
        tool = Path(argv[0]).name
        detail = result.stderr.decode(errors="replace").strip()
        hint = ""
        if "server version mismatch" in detail:
            hint = (
                f"\n{tool} must be at least as new as the server: install a newer client, or "
                "run the server's own (docker compose exec db pg_dump ...; README, Backups)."
            )
        raise BackupError(f"{tool} failed (exit {result.returncode}):\n{detail}{hint}")
    return result


def _private_file(path: Path) -> int:
    """Open `path` for writing, readable by its owner only: a backup holds every caller's
    name and number and every password hash."""
    # A new file only, never through a symlink: a link planted at the partial name would
    # otherwise have the dump written over whatever it points at.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _write_then_rename(destination: Path, write) -> None:
    """Call write(partial_path) and give the file its final name only once it succeeded: a
    failed or interrupted backup leaves nothing that looks like a backup."""
    if destination.exists():
        raise BackupError(f"{destination} already exists: a backup never overwrites another.")
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = destination.with_name(f"{destination.name}.partial")
    if partial.is_symlink() or partial.exists():
        raise BackupError(f"{partial} exists: remove it (a backup that did not finish?).")
    try:
        write(partial)
        # link + unlink, not rename: a file that appeared at the final name meanwhile is
        # refused, never replaced.
        os.link(partial, destination)
    except FileExistsError:
        raise BackupError(
            f"{destination} already exists: a backup never overwrites another."
        ) from None
    finally:
        partial.unlink(missing_ok=True)


def pg_archive_contents(archive: Path, settings_dict) -> list[str]:
    """The table of contents of a custom-format archive (pg_restore --list): proof that
    pg_restore can read the file, and what it holds."""
    argv, env = pg_invocation(settings_dict, "pg_restore", "--list", str(archive.resolve()))
    listing = _run(argv, env, stdout=subprocess.PIPE).stdout.decode(errors="replace")
    return listing.splitlines()


def archive_tables(contents: list[str]) -> set[str]:
    """The tables an archive's table of contents holds ("3375; 1259 16390 TABLE public
    calls_call postgres")."""
    tables = set()
    for line in contents:
        if line.startswith(";"):
            continue
        fields = line.split()
        if len(fields) >= 6 and fields[3] == "TABLE":
            tables.add(fields[5])
    return tables


def archive_header(contents: list[str]) -> dict[str, str]:
    """The archive's header ("; Archive created at 2025-...", ";     dbname: calllog")."""
    header = {}
    for line in contents:
        if not line.startswith(";"):
            break
        text = line[1:].strip()
        if text.startswith("Archive created at "):
            header["created"] = text.removeprefix("Archive created at ")
        elif ": " in text:
            key, _, value = text.partition(": ")
            header[key] = value
    return header


def pg_backup(settings_dict, destination: Path) -> list[str]:
    """Dump the database in pg_dump's custom format (compressed, restorable table by table)
    to `destination`; the archive's table of contents, read back to check it."""
    argv, env = pg_invocation(settings_dict, "pg_dump", "--format=custom", "--no-password")
    contents: list[str] = []

    def write(partial: Path) -> None:
        # pg_dump writes to a file we opened rather than one it opens itself, so that the
        # file is private from its first byte.
        with os.fdopen(_private_file(partial), "wb") as out:
            _run(argv, env, stdout=out)
        contents.extend(pg_archive_contents(partial, settings_dict))

    _write_then_rename(destination, write)
    return contents


def check_archive(archive: Path) -> None:
    """Refuse a file that is missing or not a pg_dump custom-format archive, before asking
    anyone to confirm anything."""
    if not archive.exists():
        raise BackupError(f"{archive}: no such file.")
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file.")
    with archive.open("rb") as f:
        magic = f.read(len(CUSTOM_FORMAT_MAGIC))
    if magic != CUSTOM_FORMAT_MAGIC:
        raise BackupError(
            f"{archive} is not a pg_dump custom-format archive (made by `manage.py backup` "
            "or pg_dump -Fc). A plain SQL dump is restored with psql -f instead."
        )


def pg_restore(settings_dict, archive: Path) -> str:
    """Restore a custom-format archive into the database, replacing the objects the archive
    holds, all in one transaction: on any error nothing changes. pg_restore's warnings, if
    any, are returned."""
    argv, env = pg_invocation(
        settings_dict,
        "pg_restore",
        "--clean",
        "--if-exists",
        # The roles of the database the dump came from need not exist here: the restoring
        # user owns everything, as the migrations' user owns it on a fresh install.
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        "--dbname",
        str(settings_dict["NAME"]),
        str(archive.resolve()),
    )
    return _run(argv, env, stdout=subprocess.PIPE).stderr.decode(errors="replace").strip()


def sqlite_backup(settings_dict, destination: Path) -> None:
    """Copy a SQLite database with SQLite's online backup API: a consistent copy (the WAL
    included) even while the app writes, which copying the file is not."""
    name = str(settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        raise BackupError("An in-memory SQLite database has nothing to back up.")
    source_path = Path(name)
    if not source_path.is_file():
        raise BackupError(f"{source_path}: no such file.")

    def write(partial: Path) -> None:
        os.close(_private_file(partial))
        # Read-only: a mistyped path is an error, never a new empty database.
        source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()

    _write_then_rename(destination, write)


def sqlite_restore_advice(settings_dict, archive: Path) -> str:
    """Why restore refuses on SQLite, and how to put a SQLite backup back by hand: the
    command does not overwrite a file that running web processes hold open."""
    live = Path(settings_dict["NAME"])
    with archive.open("rb") as f:
        magic = f.read(len(SQLITE_MAGIC))
    if magic.startswith(CUSTOM_FORMAT_MAGIC):
        return (
            f"{archive} is a PostgreSQL dump, and this site runs on the SQLite file {live}: "
            "set DATABASE_URL to the PostgreSQL database to restore it into."
        )
    if magic != SQLITE_MAGIC:
        return f"{archive} is neither a PostgreSQL dump nor a SQLite database."
    return (
        f"restore replaces a PostgreSQL database; this site runs on the SQLite file {live}. "
        "To put a SQLite backup back: stop the app (runserver, gunicorn, the worker), run "
        "`make backup` to keep the current state, then\n"
        f"    cp {archive} {live}\n"
        f"    rm -f {live}-wal {live}-shm\n"
        "(a -wal file left beside it belongs to the old database and would be replayed onto "
        "the new one), and start the app again. A SQLite backup is `make backup`, "
        f'sqlite3 {live} ".backup FILE", or a copy of the file made while the app is stopped.'
    )


def other_sessions(cursor) -> int:
    """How many other connections the current PostgreSQL database has (the web and worker
    processes): a restore waits for their locks."""
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return cursor.fetchone()[0]
