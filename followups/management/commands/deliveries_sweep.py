"""Climb the delivery ladder of urgent messages nobody confirmed in time (cron or the
worker, every minute)."""

from django.core.management.base import BaseCommand, CommandError

from followups.deliveries import deliveries_sweep


class Command(BaseCommand):
    help = (
        "Tell the next person on call of each urgent message whose last person told has not "
        "confirmed it in time; after the last one, escalate it to the managers. Idempotent "
        "and safe on several machines at once: run it every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=200, help="Deliveries to move on in one run (200)."
        )

    def handle(self, *args, limit, **options):
        if not 1 <= limit <= 10_000:
            raise CommandError("--limit is from 1 to 10,000.")
        done = deliveries_sweep(limit=limit)
        self.stdout.write(
            f"Messages to confirm: {done['advanced']} told to the next person on call, "
            f"{done['escalated']} escalated to the managers."
        )
