"""Load realistic demo data: staff, callers with numbers, calls spread over months, the
callbacks those calls promised and the escalations of their difficult callers.

It lives in followups, the app at the top of the dependency chain, because it loads all three.
The parts are in followups.demo; this file only reads the flags and runs the steps in order.
"""

import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from callers.models import Business
from calls.models import Call, Escalation
from followups.demo.loader import (
    analyze,
    create_callbacks,
    create_callers,
    create_calls,
    create_escalations,
    indexes_dropped,
)
from followups.demo.staff import ensure_staff, managers_of
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

    def handle(self, *args, calls, callers, days, if_empty, seed, batch, **options):
        if calls < 0 or (callers is not None and callers < 1) or days < 1 or batch < 1:
            raise CommandError("--calls must be >= 0, --callers, --days and --batch >= 1.")
        out = self.stdout
        if if_empty and Call.objects.exists():
            staff = ensure_staff(out)
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
            out.write(
                f"Demo data already loaded; added {added:,} callbacks and {raised:,} escalations."
            )
            return
        callers = callers or max(50, calls // 10)
        rng = random.Random(seed)
        started = time.monotonic()
        staff = ensure_staff(out)
        # Two businesses, one for each way of keeping promises: the default one's team
        # keeps them; at the second, a tenth of the calls, whoever promised keeps them.
        team = Business.objects.default()
        PromiseKeeping.objects.get_or_create(business=team)
        promiser, _ = Business.objects.get_or_create(name=PROMISER_BUSINESS)
        PromiseKeeping.objects.update_or_create(
            business=promiser, defaults={"kept_by": KeptBy.PROMISER}
        )
        shares = [
            (team, callers - callers // 10, calls - calls // 10),
            (promiser, max(1, callers // 10), calls // 10),
        ]
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
        elapsed = time.monotonic() - started
        out.write(
            self.style.SUCCESS(
                f"Loaded {callers:,} callers, {calls:,} calls, {callbacks:,} callbacks and "
                f"{escalations:,} escalations in {elapsed:.1f}s."
            )
        )
