"""Count every business's days again (followups.tally): after a bulk load or a restore."""

import time

from django.core.management.base import BaseCommand

from callers.models import Business
from followups.tally import recount_all


class Command(BaseCommand):
    help = "Count every business's days again for the dashboard and the minutes report."

    def add_arguments(self, parser):
        parser.add_argument("--business", type=int, help="only the business with this id")

    def handle(self, *args, business=None, **options):
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
