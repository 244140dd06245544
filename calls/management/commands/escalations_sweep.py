"""Re-notify every manager about escalations nobody acknowledged in time (cron, every minute)."""

from django.core.management.base import BaseCommand

from calls.services import escalations_sweep


class Command(BaseCommand):
    help = "Notify every manager once about each escalation past its acknowledgement deadline."

    def handle(self, *args, **options):
        count = escalations_sweep()
        self.stdout.write(f"Overdue escalations notified: {count}")
