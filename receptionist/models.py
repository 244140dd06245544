"""Per-person settings of the front desk staff, and the sessions people log in with."""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
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


class StaffBusiness(models.Model):
    """A business a staff member works for. Someone with none works for every business
    (a single office, an answering service's managers); a client for exactly one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="business_limits"
    )
    business = models.ForeignKey("callers.Business", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "business"], name="staff_business_unique")
        ]

    def __str__(self):
        return f"{self.user} works for business {self.business_id}"


class Session(AbstractBaseSession):
    """Django's database session, with the id of the person logged in to it: a page reads
    its session, that person and their permissions in one statement
    (receptionist/sessions.py, receptionist/auth.py)."""

    user_id = models.BigIntegerField(null=True, blank=True)

    @classmethod
    def get_session_store_class(cls):
        from receptionist.sessions import SessionStore

        return SessionStore

    class Meta(AbstractBaseSession.Meta):
        db_table = "receptionist_session"


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A person's key to the REST API for an integration (a phone system, a CRM): it acts
    as that person, with their role and businesses. Only its SHA-256 digest is kept; the
    token itself is shown once, when it is made (receptionist.tokens)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # The token's first characters, to tell one from another in the list.
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…) of {self.user_id}"
