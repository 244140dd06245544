"""Load test: many people at once against gunicorn and PostgreSQL, with locust.

Run with `make load` (LOAD_USERS, LOAD_TIME, LOAD_WORKERS, LOAD_SPAWN_RATE). It seeds a
PostgreSQL database (LOAD_DATABASE_URL, default calllog_load) up to `--calls` calls with
`seed_demo --businesses 20` (an answering service's data), gives the load test's people a
password (`load-reception-NNN` and `load-manager-NNN`: seed_demo's own people have none
when DEBUG is off), serves the app as production does (gunicorn, DEBUG off, persistent
database connections, hashed static files, tasks queued in the database) on a free port of
the loopback, and runs tests/load/locustfile.py headless against it.

The statistics are those of the steady state: the locustfile starts them again once every
user has logged in (each login hashes a password, half a second of CPU), and the run lasts
`--run-time` after that. What happened during the ramp-up (logins, failures) is printed
apart, then the CPU the server used (gunicorn, and PostgreSQL's backends of this database)
and so its CPU per request, a table of each request type (count, failures, p50, p95, p95
against the page budget of `make bench`), the server's answers by status from its access
log (the 4xx and 5xx themselves, its error log when anything failed, the pages of forms
refused), and the machine's load average before and after: other people's work on the
machine moves every figure. gunicorn is stopped whatever happens; the logs stay in a
temporary directory whose name is printed.
"""

import argparse
import contextlib
import csv
import http.client
import json
import logging
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("SECRET_KEY", "load-test-only-key")
# The database the load test owns; nobody else's data is touched.
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/calllog_load"
os.environ["DATABASE_URL"] = os.environ.get("LOAD_DATABASE_URL") or DEFAULT_DATABASE_URL

# seed_demo's answering-service data, as `make bench` loads it.
BUSINESSES = 20
# Callers and open callbacks handed to locust (the numbers typed, the callbacks opened).
SAMPLE_CALLERS = 5000
SAMPLE_CALLBACKS = 500
# The page budget of `make bench`: p95 within 10x of /healthz's p50 (README).
P95_BUDGET = 10


def ensure_database():
    """Create the load test's PostgreSQL database when it does not exist yet."""
    import psycopg
    from psycopg import sql

    url = os.environ["DATABASE_URL"]
    try:
        psycopg.connect(url).close()
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        base, name = url.rsplit("/", 1)
        admin = psycopg.connect(f"{base}/postgres", autocommit=True)
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.close()
        print(f"Created database {name}.", flush=True)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} cores)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(calls: int, accounts: int, password: str, data_file: Path) -> None:
    """Migrate, seed up to `calls` calls, give the load test's people their password, and
    write what locust types and opens (callers' numbers and names, open callbacks)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from callers.models import Business, CallerPhone
    from calls.models import Call
    from followups.models import Callback
    from receptionist.roles import MANAGERS, RECEPTIONISTS, ensure_groups

    # seed_demo's recounts run as tasks in this process: not a line each.
    logging.getLogger("django_tasks").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    # DEBUG off serves hashed static file names from the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    have = Call.objects.count()
    if have < calls:
        print(f"Seeding {calls - have:,} calls (have {have:,})...", flush=True)
        started = time.monotonic()
        call_command("seed_demo", calls=calls - have, businesses=BUSINESSES)
        print(f"seed_demo took {time.monotonic() - started:.1f}s", flush=True)
        with connection.cursor() as cursor:
            # What autovacuum does after a load this size: fresh statistics.
            cursor.execute("VACUUM ANALYZE")
    print(f"{Call.objects.count():,} calls in {connection.settings_dict['NAME']}.", flush=True)

    # The load test's people, all with one password hashed once (hashing it per person
    # would take half a second each). No business ticked: they work for every business.
    User = get_user_model()
    groups = ensure_groups()
    hashed = make_password(password)
    people = {}
    for role, group in (("reception", RECEPTIONISTS), ("manager", MANAGERS)):
        names = [f"load-{role}-{number:03d}" for number in range(1, accounts + 1)]
        have_names = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        User.objects.bulk_create(
            User(username=name, first_name=role.title(), last_name=name[-3:], password=hashed)
            for name in names
            if name not in have_names
        )
        User.objects.filter(username__in=names).update(password=hashed, is_active=True)
        membership = User.groups.through
        members = User.objects.filter(username__in=names)
        membership.objects.bulk_create(
            [
                membership(user_id=pk, group_id=groups[group].pk)
                for pk in members.values_list("pk", flat=True)
            ],
            ignore_conflicts=True,
        )
        people[role] = names

    phones = (
        CallerPhone.objects.filter(caller__business__active=True, caller__unknown=False)
        .order_by("?")
        .values_list("number", "caller__name", "caller__business_id")[:SAMPLE_CALLERS]
    )
    data = {
        "password": password,
        "receptionists": people["reception"],
        "managers": people["manager"],
        "businesses": list(Business.objects.filter(active=True).values_list("pk", flat=True)),
        "callers": [
            {"phone": number.as_e164, "name": name, "business": business}
            for number, name, business in phones
        ],
        "callbacks": list(
            Callback.objects.active().order_by("?").values_list("pk", flat=True)[:SAMPLE_CALLBACKS]
        ),
    }
    data_file.write_text(json.dumps(data))
    connection.close()


class Server:
    """gunicorn serving the project as docker-compose does, on a free loopback port; its
    access and error logs go to files in `logs`."""

    def __init__(self, workers: int, logs: Path):
        self.port = free_port()
        self.access_log = logs / "access.log"
        self.error_log = logs / "error.log"
        env = {
            **os.environ,
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "CONN_MAX_AGE": "600",
            # As docker-compose: e-mails and webhooks are queued for the task worker, not
            # sent inside the request (no worker runs here: they stay queued).
            "TASKS_BACKEND": "database",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "receptionist.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--access-logfile",
                str(self.access_log),
                "--error-logfile",
                str(self.error_log),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"gunicorn did not start; its log: {self.error_log}")

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def healthz_p50(port: int, rounds: int = 40) -> float:
    """/healthz's median in ms, one request at a time on a new connection each, as `make
    bench` measures it: the yardstick of the page budget (p95 within 10x of it)."""
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise SystemExit(f"/healthz answered {response.status}")
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def print_stats(prefix: Path, healthz: float) -> None:
    """Locust's per-request statistics (its CSV) as a Markdown table; ** marks a p95 over
    the page budget (10x /healthz's p50 before the run)."""
    stats = prefix.with_name(prefix.name + "_stats.csv")
    if not stats.exists():
        return
    with stats.open() as file:
        rows = list(csv.DictReader(file))
    print(
        f"\nBudget: p95 within {P95_BUDGET}x of /healthz's p50 before the run ({healthz:.1f} ms)."
    )
    print("\n| request | count | failures | per s | p50 ms | p95 ms | p95 / healthz | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        if row["Request Count"] == "0":
            continue  # asked only during the ramp-up (the logins)
        name = "**all requests**" if row["Name"] == "Aggregated" else row["Name"]
        ratio = float(row["95%"]) / healthz
        print(
            f"| {name} | {row['Request Count']} | {row['Failure Count']} "
            f"| {float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} "
            f"| {ratio:.0f}x{' **' if ratio > P95_BUDGET else ''} "
            f"| {float(row['Max Response Time']):.0f} |"
        )


def print_server_log(server: Server) -> None:
    """The server's answers by status (the whole run, logins included) and, when anything
    failed, the end of its error log."""
    statuses, wrong = Counter(), []
    if server.access_log.exists():
        for line in server.access_log.read_text().splitlines():
            # '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms' (gunicorn.conf.py)
            parts = line.rsplit('" ', 1)
            if len(parts) == 2:
                status = parts[1].split()[0]
                statuses[status] += 1
                if status[0] in "45":
                    wrong.append(line)
    shown = ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items()))
    print(f"\nServer answers by status (whole run): {shown or 'none'}")
    if wrong:
        print(f"The first of the {len(wrong):,} 4xx and 5xx answers ({server.access_log}):")
        print("\n".join(wrong[:20]))
    refused = sorted(server.access_log.parent.glob("refused-*.html"))
    if refused:
        print(f"Forms refused: the pages are kept in {server.access_log.parent} (refused-*.html).")
    errors = server.error_log.read_text() if server.error_log.exists() else ""
    if any(status.startswith("5") for status in statuses) or "Traceback" in errors:
        print(f"Errors in the server's log ({server.error_log}):")
        print("\n".join(errors.splitlines()[-60:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=2, help="users started per second")
    parser.add_argument(
        "--run-time", default="2m", help="after every user has logged in (locust's 30s, 2m)"
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    args = parser.parse_args()

    ensure_database()
    logs = Path(tempfile.mkdtemp(prefix="calllog-load-"))
    data_file = logs / "data.json"
    prepare(args.calls, max(args.users, 10), "load-test-only-password", data_file)

    # The locustfile measures `seconds` once every user has logged in; locust's --run-time
    # only ends a run in which some never do.
    seconds = sum(
        int(number) * {"h": 3600, "m": 60, "s": 1}[unit]
        for number, unit in re.findall(r"(\d+)([hms])", args.run_time)
    )
    if not seconds:
        raise SystemExit(f"--run-time {args.run_time!r}: say it as 30s, 2m or 1m30s")
    ramp = math.ceil(args.users / args.spawn_rate)
    prefix = logs / "locust"

    server = Server(args.workers, logs)
    try:
        healthz = healthz_p50(server.port)
        print(
            f"\ngunicorn: {args.workers} workers on 127.0.0.1:{server.port}; locust: "
            f"{args.users} users, {args.spawn_rate:g} started per second ({ramp} s of "
            f"ramp-up and logins, not counted), then {seconds} s measured. Logs in {logs}.",
            flush=True,
        )
        print(f"Load average before: {load_average()}", flush=True)
        started = time.monotonic()
        locust = subprocess.run(
            [
                str(Path(sys.executable).parent / "locust"),
                "--locustfile",
                str(Path(__file__).with_name("locustfile.py")),
                "--headless",
                "--host",
                f"http://127.0.0.1:{server.port}",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{2 * ramp + seconds + 60}s",
                "--only-summary",
                "--csv",
                str(prefix),
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "LOAD_DATA": str(data_file),
                "LOAD_MEASURE_SECONDS": str(seconds),
                "LOAD_SERVER_PID": str(server.process.pid),
            },
            check=False,
        )
        print(f"\nLoad average after: {load_average()}", flush=True)
        print(f"locust ran {time.monotonic() - started:.0f} s in all (ramp-up included).")
    finally:
        server.stop()
    print_stats(prefix, healthz)
    print_server_log(server)
    sys.exit(locust.returncode)


if __name__ == "__main__":
    main()
