"""Remind people of callbacks coming due and overdue, and release stale claims."""

from django.core.management.base import BaseCommand

from followups.services import callbacks_sweep


class Command(BaseCommand):
    help = (
        "Send callback reminders (due soon, overdue) once each; give stale claims, and "
        "promises not claimed by their promiser when at risk, back to the team. "
        "Idempotent and safe on several machines at once: run it every minute."
    )

    def handle(self, *args, **options):
        done = callbacks_sweep()
        self.stdout.write(
            f"Reminders: {done['due']} due soon, {done['overdue']} overdue; "
            f"claims released: {done['released']}; "
            f"back to the team unclaimed: {done['returned']}."
        )
