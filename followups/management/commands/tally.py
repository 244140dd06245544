"""Count every business's days again (followups.tally): after a bulk load or a restore."""

import time

from django.core.management.base import BaseCommand

from callers.models import Business
from calls.models import Call
from followups.models import Tally
from followups.tally import recount_all


class Command(BaseCommand):
    help = "Count every business's days again for the dashboard and the minutes report."

    def add_arguments(self, parser):
        parser.add_argument("--business", type=int, help="only the business with this id")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="only when no day is counted yet (a database from before the tallies)",
        )

    def handle(self, *args, business=None, if_empty=False, **options):
        if if_empty and (Tally.objects.exists() or not Call.objects.exists()):
            self.stdout.write("Tallies: nothing to count.")
            return
        businesses = Business.objects.order_by("pk")
        if business is not None:
            businesses = businesses.filter(pk=business)
        started = time.monotonic()
        total = businesses.count()
        for n, (pk, name) in enumerate(businesses.values_list("pk", "name"), start=1):
            rows = recount_all(pk)
            self.stdout.write(
                f"tallies: {n}/{total} businesses ({name}: {rows:,} rows) "
                f"{time.monotonic() - started:.1f}s"
            )
