"""Load realistic demo data: staff, callers with numbers, calls spread over months, the
callbacks those calls promised and the escalations of their difficult callers.

It lives in followups, the app at the top of the dependency chain, because it loads all three.
The parts are in followups.demo; this file only reads the flags and runs the steps in order.
"""

import random
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from callers.models import Business
from calls.models import Call, Escalation
from followups.demo.businesses import NAMES, demo_businesses, demo_on_call
from followups.demo.loader import (
    analyze,
    create_callbacks,
    create_callers,
    create_calls,
    create_escalations,
    indexes_dropped,
)
from followups.demo.staff import ensure_client, ensure_staff, managers_of
from followups.models import Callback, KeptBy, PromiseKeeping

PROMISER_BUSINESS = "Riverside Veterinary Clinic"

# From this many rows on, the load drops the secondary indexes and builds them once at the
# end; smaller loads (the default, the tests) keep them.
BIG_LOAD = 50_000


class Command(BaseCommand):
    help = "Load demo data: staff, callers and calls (e.g. --calls 1000000 for a benchmark)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--calls", type=int, default=3000, help="How many calls (default 3000)."
        )
        parser.add_argument(
            "--callers",
            type=int,
            default=None,
            help="How many callers (default: calls / 10, at least 50).",
        )
        parser.add_argument(
            "--days", type=int, default=180, help="Spread calls over this many days."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when there are calls already."
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed for repeatable data."
        )
        parser.add_argument("--batch", type=int, default=20000, help="Rows per insert.")
        parser.add_argument(
            "--businesses",
            type=int,
            default=3,
            help="How many businesses answer their calls here (default 3; 1: a single "
            f"office; at most {len(NAMES) + 1}).",
        )

    def handle(self, *args, calls, callers, days, if_empty, seed, batch, businesses, **options):
        if calls < 0 or (callers is not None and callers < 1) or days < 1 or batch < 1:
            raise CommandError("--calls must be >= 0, --callers, --days and --batch >= 1.")
        if not 1 <= businesses <= len(NAMES) + 1:
            raise CommandError(f"--businesses must be from 1 to {len(NAMES) + 1}.")
        out = self.stdout
        if if_empty and Call.objects.exists():
            staff = ensure_staff(out)
            client_business = Business.objects.filter(name=NAMES[0]).first()
            if client_business is not None:
                ensure_client(client_business, out)
            if Callback.objects.exists() and Escalation.objects.exists():
                out.write("Demo data already loaded: nothing to do.")
                return
            # Demo data loaded before callbacks or escalations existed: add what its calls
            # promised and the escalations of its difficult callers.
            with transaction.atomic():
                added = create_callbacks(random.Random(seed), staff, batch, out=out)
                raised = create_escalations(
                    random.Random(seed), staff, managers_of(staff), batch, out=out
                )
            analyze()
            call_command("tally", stdout=out)
            out.write(
                f"Demo data already loaded; added {added:,} callbacks and {raised:,} escalations."
            )
            return
        callers = callers or max(50, calls // 10)
        rng = random.Random(seed)
        started = time.monotonic()
        staff = ensure_staff(out)
        # The office's own business, whose team keeps its promises, and its clients: at
        # the first (PROMISER_BUSINESS), whoever promised keeps them. Each client has a
        # tenth of the calls, or less with many (half of them between them at most).
        team, *clients = demo_businesses(businesses)
        demo_on_call([team, *clients], managers_of(staff)[0])
        if clients:
            ensure_client(clients[0], out)
        PromiseKeeping.objects.get_or_create(business=team)
        for client in clients:
            PromiseKeeping.objects.update_or_create(
                business=client,
                defaults={
                    "kept_by": KeptBy.PROMISER if client.name == PROMISER_BUSINESS else KeptBy.TEAM
                },
            )
        part = max(10, 2 * len(clients))
        shares = [(client, max(1, callers // part), calls // part) for client in clients]
        shares.insert(
            0,
            (
                team,
                callers - sum(share[1] for share in shares),
                calls - sum(share[2] for share in shares),
            ),
        )
        with transaction.atomic(), indexes_dropped(calls + callers >= BIG_LOAD, out=out):
            for business, business_callers, business_calls in shares:
                caller_rows = create_callers(rng, business, business_callers, batch, out=out)
                create_calls(
                    rng, business, caller_rows, staff, business_calls, days, batch, out=out
                )
        with transaction.atomic():
            callbacks = create_callbacks(rng, staff, batch, out=out)
            escalations = create_escalations(rng, staff, managers_of(staff), batch, out=out)
        analyze()
        # Bulk inserts send no signals: count the loaded days for the dashboard at once.
        call_command("tally", stdout=out)
        elapsed = time.monotonic() - started
        out.write(
            self.style.SUCCESS(
                f"Loaded {callers:,} callers, {calls:,} calls, {callbacks:,} callbacks and "
                f"{escalations:,} escalations in {elapsed:.1f}s."
            )
        )
