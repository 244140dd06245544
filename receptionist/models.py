"""Per-person settings of the front desk staff."""

from django.conf import settings
from django.db import models


class StaffProfile(models.Model):
    """A staff member's availability: unavailable managers get no new-escalation e-mails."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    available = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user} ({'available' if self.available else 'unavailable'})"
