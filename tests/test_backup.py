"""Backups (manage.py backup / restore, receptionist.backups): a dump restored into a new
PostgreSQL database holds the same rows, a SQLite backup is a copy, and restore refuses
what it should."""

import os
import re
import sqlite3
import stat
import subprocess
import sys
import uuid
from io import StringIO
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from callers.models import Caller
from calls.models import Call
from followups.models import Callback
from receptionist import backups
from receptionist.backups import BackupError, pg_invocation
from tests.factories import CallbackFactory, CallerFactory, CallFactory

pytestmark = pytest.mark.django_db(transaction=True)

TABLES = [
    Caller._meta.db_table,
    Call._meta.db_table,
    Callback._meta.db_table,
    "django_migrations",
]


@pytest.fixture
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump and pg_restore need PostgreSQL")


@pytest.fixture
def _sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("about the zero-setup SQLite file")


def seed() -> None:
    """Committed rows in every table compared, text that is not plain ASCII among them."""
    CallbackFactory.create_batch(3)
    CallFactory.create_batch(4, summary="Asked whether the café's “late” hours hold ✓")
    CallerFactory(name="Zoë O'Brien", phone="+12125550199")


def conninfo(dbname: str) -> dict:
    """psycopg's arguments for another database on the test database's server."""
    settings_dict = connection.settings_dict
    info = {"dbname": dbname, "user": settings_dict["USER"], "password": settings_dict["PASSWORD"]}
    info |= {"host": settings_dict["HOST"], "port": settings_dict["PORT"]}
    return {key: value for key, value in info.items() if value}


def database_url(dbname: str) -> str:
    settings_dict = connection.settings_dict
    user = quote(settings_dict["USER"] or "", safe="")
    password = f":{quote(settings_dict['PASSWORD'], safe='')}" if settings_dict["PASSWORD"] else ""
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{user}{password}@{settings_dict['HOST']}{port}/{dbname}"


def fingerprints(dbname: str) -> dict:
    """Per table, the row count and an MD5 of every column of every row in id order; and
    every sequence's position (the next id a restored database hands out)."""
    with psycopg.connect(**conninfo(dbname)) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        result = {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), '')) "
                f'FROM "{table}" t'
            ).fetchone()
            for table in TABLES
        }
        result["sequences"] = conn.execute(
            "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
        ).fetchall()
    return result


@pytest.fixture
def fresh_database(_postgresql_only):
    """A new empty database on the same server, dropped at the end whatever happened."""
    name = f"test_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(**conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, dbname: str) -> subprocess.CompletedProcess:
    """Run manage.py in its own process with DATABASE_URL set to `dbname`, as an operator
    would (and with no terminal, as cron would)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url(dbname)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_dump_restored_into_a_new_database_has_the_same_rows(tmp_path, fresh_database):
    seed()
    out = StringIO()
    call_command("backup", directory=tmp_path, stdout=out)
    [dump] = tmp_path.iterdir()
    assert re.fullmatch(r"calllog-\d{8}-\d{6}\.dump", dump.name)
    assert dump.read_bytes().startswith(b"PGDMP")
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert dump.name in out.getvalue()
    original = fingerprints(connection.settings_dict["NAME"])
    assert original[Callback._meta.db_table][0] == 3
    assert original[Call._meta.db_table][0] == 7
    assert original[Caller._meta.db_table][0] == 8
    assert original["django_migrations"][0] > 0

    restored = manage("restore", str(dump), "--yes", dbname=fresh_database)

    assert restored.returncode == 0, restored.stderr
    assert f"Restored {dump}" in restored.stdout
    assert fingerprints(fresh_database) == original


def test_a_restore_over_a_changed_database_puts_every_row_back_or_none(tmp_path, fresh_database):
    seed()
    dump = tmp_path / "before.dump"
    call_command("backup", output=dump, stdout=StringIO())
    assert manage("restore", str(dump), "--yes", dbname=fresh_database).returncode == 0
    original = fingerprints(fresh_database)
    with psycopg.connect(**conninfo(fresh_database), autocommit=True) as conn:
        conn.execute(f"UPDATE {Call._meta.db_table} SET summary = 'changed since'")
        conn.execute(f"TRUNCATE {Callback._meta.db_table} CASCADE")
        conn.execute("CREATE TABLE stray_since (id int)")
    changed = fingerprints(fresh_database)
    assert changed != original
    # Cut short in its last table's data: pg_restore has dropped and made everything
    # before it reads that far, and its one transaction takes all of it back.
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[:-200])

    failed = manage("restore", str(truncated), "--yes", dbname=fresh_database)

    assert failed.returncode == 1
    assert "pg_restore failed" in failed.stderr
    assert "Nothing was changed" in failed.stderr
    assert fingerprints(fresh_database) == changed

    restored = manage("restore", str(dump), "--yes", dbname=fresh_database)

    assert restored.returncode == 0, restored.stderr
    assert fingerprints(fresh_database) == original
    # A table the backup does not hold is named, not silently kept.
    assert "stray_since" in restored.stderr


def test_a_failed_dump_leaves_no_file_and_shows_why(tmp_path, _postgresql_only):
    missing = f"no_such_database_{uuid.uuid4().hex[:8]}"

    result = manage("backup", "--dir", str(tmp_path / "backups"), dbname=missing)

    assert result.returncode == 1
    assert f'database "{missing}" does not exist' in result.stderr
    assert list((tmp_path / "backups").iterdir()) == []


def test_a_backup_never_overwrites_another(tmp_path):
    existing = tmp_path / "calllog.dump"
    existing.write_bytes(b"an older backup")

    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", output=existing, stdout=StringIO())

    assert existing.read_bytes() == b"an older backup"


def test_restore_without_yes_refuses_and_changes_nothing(tmp_path, _postgresql_only):
    dump = tmp_path / "b.dump"
    call_command("backup", output=dump, stdout=StringIO())
    CallerFactory(name="Added after the backup")

    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(dump), stdout=StringIO(), stderr=StringIO())

    assert Caller.objects.filter(name="Added after the backup").exists()


def test_restore_at_a_terminal_asks_and_a_no_changes_nothing(
    tmp_path, monkeypatch, _postgresql_only
):
    dump = tmp_path / "b.dump"
    call_command("backup", output=dump, stdout=StringIO())
    CallerFactory(name="Added after the backup")
    prompts = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "no")

    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("restore", str(dump), stdout=StringIO(), stderr=StringIO())

    assert "will be replaced" in prompts[0]
    assert Caller.objects.filter(name="Added after the backup").exists()


def test_restore_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(CommandError, match=r"missing\.dump: no such file"):
        call_command("restore", str(tmp_path / "missing.dump"), yes=True)


def test_restore_refuses_a_file_that_is_not_a_custom_format_dump(tmp_path, _postgresql_only):
    plain = tmp_path / "plain.sql"
    plain.write_text("DROP TABLE calls_call;\n")

    with pytest.raises(CommandError, match="not a pg_dump custom-format archive"):
        call_command("restore", str(plain), yes=True)

    assert Call.objects.model._meta.db_table in connection.introspection.table_names()


def test_the_password_goes_in_the_environment_never_on_the_command_line(monkeypatch):
    monkeypatch.setattr(backups.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    settings_dict = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "calllog",
        "USER": "calllog",
        "PASSWORD": "s3cret-Pa55",
        "HOST": "db",
        "PORT": 5432,
        "OPTIONS": {"sslmode": "require"},
    }

    argv, env = pg_invocation(settings_dict, "pg_dump", "--format=custom")

    assert argv == ["/usr/bin/pg_dump", "--format=custom"]
    assert env["PGPASSWORD"] == "s3cret-Pa55"
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"]) == ("db", "5432", "calllog")
    assert (env["PGDATABASE"], env["PGSSLMODE"]) == ("calllog", "require")


def test_a_missing_client_tool_is_named(monkeypatch):
    monkeypatch.setattr(backups.shutil, "which", lambda tool: None)
    settings_dict = {"ENGINE": "django.db.backends.postgresql", "NAME": "x", "OPTIONS": {}}

    with pytest.raises(BackupError, match="pg_restore is not installed"):
        pg_invocation(settings_dict, "pg_restore")


def test_a_sqlite_backup_is_a_copy_with_the_same_rows(tmp_path, _sqlite_only):
    seed()
    out = StringIO()

    call_command("backup", directory=tmp_path, stdout=out)

    [copy] = tmp_path.iterdir()
    assert re.fullmatch(r"calllog-\d{8}-\d{6}\.sqlite3", copy.name)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert copy.name in out.getvalue()
    # Both read the same way (Django's own cursor would convert its side's values).
    live = sqlite3.connect(connection.settings_dict["NAME"])
    backup = sqlite3.connect(copy)
    try:
        for table in TABLES:
            query = f'SELECT * FROM "{table}" ORDER BY id'
            rows = live.execute(query).fetchall()
            assert rows, table
            assert backup.execute(query).fetchall() == rows, table
    finally:
        backup.close()
        live.close()


def test_restore_on_sqlite_refuses_and_says_how(tmp_path, _sqlite_only):
    CallerFactory()
    call_command("backup", directory=tmp_path, stdout=StringIO())
    [copy] = tmp_path.iterdir()

    with pytest.raises(CommandError) as refused:
        call_command("restore", str(copy), yes=True)

    message = str(refused.value)
    assert "runs on the SQLite file" in message
    assert f"cp {copy} {connection.settings_dict['NAME']}" in message
    assert "-wal" in message
    assert ".backup" in message


def test_a_link_planted_at_the_partial_name_is_refused_and_its_target_untouched(tmp_path):
    from receptionist.backups import _write_then_rename

    target = tmp_path / "someone-elses.txt"
    target.write_text("keep me")
    destination = tmp_path / "backups" / "b.dump"
    destination.parent.mkdir()
    (destination.parent / "b.dump.partial").symlink_to(target)
    with pytest.raises(BackupError, match="exists"):
        _write_then_rename(destination, lambda path: path.write_text("dump"))
    assert target.read_text() == "keep me" and not destination.exists()


def test_a_backup_directory_that_is_a_file_is_said_plainly(tmp_path):
    a_file = tmp_path / "not-a-directory"
    a_file.write_text("")
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("backup", "--dir", str(a_file), stdout=StringIO())
