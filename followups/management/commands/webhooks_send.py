"""Send the webhook deliveries that are due (cron or the worker, every few seconds)."""

import time

from django.core.management.base import BaseCommand, CommandError

from followups.webhooks import webhooks_send


class Command(BaseCommand):
    help = (
        "Send the webhook deliveries that are due, once each (retries back off); pause "
        "endpoints that keep failing. Idempotent and safe on several machines at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=100, help="Deliveries to send in one run (100)."
        )
        parser.add_argument(
            "--every",
            type=float,
            default=0,
            metavar="SECONDS",
            help="Run again and again, this many seconds apart, until stopped (Ctrl-C).",
        )

    def handle(self, *args, limit, every, **options):
        if not 1 <= limit <= 10_000:
            raise CommandError("--limit is from 1 to 10,000.")
        if every < 0:
            raise CommandError("--every is a number of seconds, 0 or more.")
        while True:
            done = webhooks_send(limit=limit)
            self.stdout.write(
                f"Webhooks: {done['delivered']} delivered, {done['retrying']} to retry, "
                f"{done['failed']} given up, {done['paused']} paused their endpoint, "
                f"{done['left']} left for the next run."
            )
            if not every:
                return
            time.sleep(every)
