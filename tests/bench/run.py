"""Benchmark: seed a big data set with seed_demo, then time the pages people use.

Run with `make bench` (PostgreSQL, one million calls by default). Prints a Markdown table:
median and 95th percentile over repeated requests through Django's test client (the whole
request: middleware, session, permission checks, queries, template rendering), and the
number of SQL queries each page runs.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")


def ensure_database():
    """Create the benchmark's PostgreSQL database when it does not exist yet."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg2
    from psycopg2 import sql

    try:
        psycopg2.connect(url).close()
    except psycopg2.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        base, name = url.rsplit("/", 1)
        admin = psycopg2.connect(f"{base}/postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.close()
        print(f"Created database {name}.", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from callers.models import Caller, CallerPhone
    from calls.models import Call
    from followups.models import Callback
    from receptionist.roles import MANAGERS, ensure_groups
    from tests.querycounts import next_cursor

    call_command("migrate", verbosity=0)
    # Serve pages as production does: hashed static file names from the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    have = Call.objects.count()
    if have < args.calls:
        print(f"Seeding {args.calls - have:,} calls (have {have:,})...", flush=True)
        started = time.monotonic()
        call_command("seed_demo", calls=args.calls - have)
        print(f"seed_demo took {time.monotonic() - started:.1f}s", flush=True)
    elif not Callback.objects.exists():
        # Calls seeded before callbacks existed: add the callbacks those calls promised.
        call_command("seed_demo", if_empty=True)
    total = Call.objects.count()

    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-manager")
    user.groups.add(ensure_groups()[MANAGERS])
    client = Client()
    client.force_login(user)

    busy_caller = (
        Caller.objects.annotate(n=Count("calls")).order_by("-n").values_list("pk", flat=True)[0]
    )
    some_call = Call.objects.order_by("-started_at").values_list("pk", flat=True)[500]
    number = CallerPhone.objects.filter(caller_id=busy_caller).values_list("number", flat=True)[0]
    taker = Call.objects.values_list("taken_by_id", flat=True)[0]

    some_callback = Callback.objects.active().order_by("due_at").values_list("pk", flat=True)[0]
    callback_number = CallerPhone.objects.filter(caller__callbacks__pk=some_callback).values_list(
        "number", flat=True
    )[0]

    # A cursor 20 pages deep: keyset pages cost the same wherever they are.
    deep = "/calls/"
    for _ in range(20):
        deep = f"/calls/?cursor={next_cursor(client.get(deep))}"

    pages = [
        ("call log", "/calls/"),
        ("call log, 20 pages deep", deep),
        ("call log, nature=urgent", "/calls/?nature=urgent"),
        ("call log, mood=abusive", "/calls/?mood=abusive"),
        ("call log, taken by one person", f"/calls/?taken_by={taker}"),
        ("call log, one caller", f"/calls/?caller={busy_caller}"),
        ("call log, full-text search", "/calls/?q=chocolate"),
        ("call log, search + filters", "/calls/?q=invoice&nature=appointment&urgency=high"),
        ("call log, date range", "/calls/?date_from=2026-01-01&date_to=2026-01-31"),
        ("call page", f"/calls/{some_call}/"),
        ("log a call (form)", "/calls/new/"),
        ("callers", "/callers/"),
        ("callers, search name", "/callers/?q=smith"),
        ("callers, search number", "/callers/?q=(212) 555"),
        ("caller page (busiest caller)", f"/callers/{busy_caller}/"),
        ("lookup, partial number", "/callers/lookup/?phone=212 5"),
        ("lookup, exact number", f"/callers/lookup/?phone={number}"),
        ("lookup, name", "/callers/lookup/?caller_name=olivia"),
        ("callbacks: team", "/callbacks/"),
        ("callbacks: mine", "/callbacks/?view=mine"),
        ("callbacks: unassigned", "/callbacks/?view=unassigned"),
        ("callbacks: overdue", "/callbacks/?view=overdue"),
        ("callbacks: at risk", "/callbacks/?view=at_risk"),
        ("callback page", f"/callbacks/{some_callback}/"),
        ("open callback notice, exact number", f"/callbacks/open-for/?phone={callback_number}"),
        ("callback promise preview", "/callbacks/promise/?nature=urgent&urgency=high&callback=on"),
        ("escalations: open", "/escalations/"),
        ("escalations: resolved", "/escalations/resolved/"),
    ]

    rows = []
    for label, url in pages:
        for _ in range(2):  # warm caches
            assert client.get(url).status_code == 200, url
        timings = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        rows.append((label, statistics.median(timings), p95, len(queries.captured_queries)))
        print(f"  {label}: {statistics.median(timings):.1f} ms", file=sys.stderr, flush=True)

    vendor = connection.vendor
    print(
        f"\n{total:,} calls, {Caller.objects.count():,} callers, "
        f"{Callback.objects.count():,} callbacks ({Callback.objects.active().count():,} open) "
        f"on {vendor}; {args.runs} runs each\n"
    )
    print("| page | median ms | p95 ms | queries |")
    print("| --- | ---: | ---: | ---: |")
    for label, median, p95, count in rows:
        print(f"| {label} | {median:.1f} | {p95:.1f} | {count} |")


if __name__ == "__main__":
    main()
