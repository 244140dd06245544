"""Callbacks: promises to call a caller back, the attempts to keep them, and the policy."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from callers.models import Business, Caller, NumbersOf
from calls.models import Call, DeliveryState, Escalation, Nature, Urgency
from receptionist.roles import PERSON_COLUMNS, fetch_people


class CallbackStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE = [CallbackStatus.OPEN, CallbackStatus.CLAIMED]


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


PRIORITY_FOR_URGENCY = {
    Urgency.LOW: Priority.LOW,
    Urgency.NORMAL: Priority.NORMAL,
    Urgency.HIGH: Priority.HIGH,
    Urgency.EMERGENCY: Priority.URGENT,
}


class AttemptResult(models.TextChoices):
    REACHED = "reached", "Reached"
    LEFT_VOICEMAIL = "left_voicemail", "Left voicemail"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"


# After these results the callback goes back in the queue at a new time.
RESCHEDULING_RESULTS = {AttemptResult.LEFT_VOICEMAIL, AttemptResult.NO_ANSWER}

# Minutes to call back within, by nature and urgency, when a business has no row of its own
# in the policy table (managers edit the table in the admin).
DEFAULT_POLICY_MINUTES = {
    Nature.URGENT: {Urgency.LOW: 60, Urgency.NORMAL: 30, Urgency.HIGH: 15, Urgency.EMERGENCY: 5},
    Nature.APPOINTMENT: {
        Urgency.LOW: 24 * 60,
        Urgency.NORMAL: 4 * 60,
        Urgency.HIGH: 60,
        Urgency.EMERGENCY: 15,
    },
    Nature.SALES: {
        Urgency.LOW: 24 * 60,
        Urgency.NORMAL: 8 * 60,
        Urgency.HIGH: 2 * 60,
        Urgency.EMERGENCY: 30,
    },
    Nature.OTHER: {
        Urgency.LOW: 24 * 60,
        Urgency.NORMAL: 8 * 60,
        Urgency.HIGH: 2 * 60,
        Urgency.EMERGENCY: 30,
    },
}


# A promise further out than this is not a callback but a plan.
POLICY_MAX_MINUTES = 30 * 24 * 60
MAX_DUE_AHEAD = timedelta(days=366)


class CallbackPolicyQuerySet(models.QuerySet):
    def minutes_for(self, *, business_id: int | None, nature: str, urgency: str) -> int:
        """How soon a callback of this nature and urgency is due, in minutes."""
        row = (
            self.filter(business_id=business_id, nature=nature, urgency=urgency)
            .values_list("due_within_minutes", flat=True)
            .first()
        )
        if row is not None:
            return row
        return DEFAULT_POLICY_MINUTES.get(nature, DEFAULT_POLICY_MINUTES[Nature.OTHER]).get(
            urgency, 4 * 60
        )


class CallbackPolicy(models.Model):
    """How soon a business promises to call back, by nature and urgency of the call."""

    business = models.ForeignKey(
        Business, on_delete=models.CASCADE, related_name="callback_policies"
    )
    nature = models.CharField(max_length=12, choices=Nature.choices)
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    due_within_minutes = models.PositiveIntegerField(
        "call back within (minutes)",
        help_text="The receptionist can change it on the call. At most 30 days (43,200).",
        validators=[
            MinValueValidator(1, "At least one minute."),
            MaxValueValidator(POLICY_MAX_MINUTES, "At most 30 days (43,200 minutes)."),
        ],
    )

    objects = CallbackPolicyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "callback policies"
        ordering = ["business", "nature", "urgency"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "nature", "urgency"], name="callback_policy_unique"
            ),
            models.CheckConstraint(
                condition=Q(nature__in=Nature.values), name="callback_policy_nature_valid"
            ),
            models.CheckConstraint(
                condition=Q(urgency__in=Urgency.values), name="callback_policy_urgency_valid"
            ),
            models.CheckConstraint(
                condition=Q(due_within_minutes__gte=1), name="callback_policy_minutes_positive"
            ),
            models.CheckConstraint(
                condition=Q(due_within_minutes__lte=POLICY_MAX_MINUTES),
                name="callback_policy_minutes_at_most_30_days",
            ),
        ]

    def __str__(self):
        return (
            f"{self.get_nature_display()} / {self.get_urgency_display()}: "
            f"{self.due_within_minutes} min"
        )


class KeptBy(models.TextChoices):
    TEAM = "team", "The team"
    PROMISER = "promiser", "The person who promised"


class PromiseKeepingQuerySet(models.QuerySet):
    def kept_by(self, business_id: int | None) -> str:
        """Who keeps this business's promises: the team unless the business chose."""
        return self.of(business_id)[0]

    def of(self, business_id: int | None) -> tuple[str, bool]:
        """(who keeps this business's promises, whether within its business hours only):
        the team, at any hour, unless the business chose. One query."""
        chosen = (
            self.filter(business_id=business_id)
            .values_list("kept_by", "within_business_hours")
            .first()
        )
        return (chosen[0] or KeptBy.TEAM, chosen[1]) if chosen else (KeptBy.TEAM, False)


class PromiseKeeping(models.Model):
    """How a business's promises to call back are kept: by whom (the whole team, anyone
    picking a callback up, or the person who made the promise: it is assigned to them and
    goes back to the team if they have not claimed it when it comes at risk), and on which
    clock (any hour, or its business hours only)."""

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="promise_keeping"
    )
    kept_by = models.CharField(
        "who keeps a promise to call back",
        max_length=10,
        choices=KeptBy.choices,
        default=KeptBy.TEAM,
        help_text="The person who promised: the callback is theirs (in their Mine) until it "
        "is at risk unclaimed, then the team's.",
    )
    within_business_hours = models.BooleanField(
        "within business hours",
        default=False,
        help_text="The minutes to call back within run only while the business is open "
        "(its opening hours, less its closed days): a 30-minute promise made ten minutes "
        "before closing is due twenty minutes after it opens again.",
    )

    objects = PromiseKeepingQuerySet.as_manager()

    class Meta:
        verbose_name = "who keeps a promise"
        verbose_name_plural = "who keeps promises"
        constraints = [
            models.CheckConstraint(
                condition=Q(kept_by__in=KeptBy.values), name="promise_keeping_kept_by_valid"
            ),
        ]

    def __str__(self):
        return f"{self.business}: {self.get_kept_by_display()}"


# The columns of a row of the callback queue (jinja/followups/callback-rows.html), with
# what its properties read (missed_promise, is_unclaimed, the caller's handling_note).
QUEUE_COLUMNS = (
    "business_id",
    "reason",
    "promise",
    "preferred_window",
    "due_at",
    "promised_due_at",
    "priority",
    "status",
    "attempt_count",
    "returns_to_team_at",
    "caller__name",
    "caller__is_vip",
    "caller__caution",
    "caller__caution_note",
    *(f"assigned_to__{column}" for column in PERSON_COLUMNS),
    *(f"claimed_by__{column}" for column in PERSON_COLUMNS),
)


def at_risk_until(now):
    """The end of the at-risk window that starts `now`: a callback due before it is at risk."""
    return now + timedelta(minutes=settings.CALLBACK_AT_RISK_MINUTES)


class CallbackQuerySet(models.QuerySet):
    def for_user(self, user):
        """Callbacks of the businesses this user may work for."""
        return Business.objects.limit(self, user)

    def active(self):
        """Promises not yet kept: open or claimed."""
        return self.filter(status__in=ACTIVE)

    def overdue(self, now=None):
        return self.active().filter(due_at__lt=now or timezone.now())

    def at_risk(self, now=None, until=None):
        """Due within the at-risk window (from `now` to `until`, at_risk_until(now); for a
        promise kept within business hours, from its own at_risk_at, that window of open
        time before it is due) and nobody has claimed them yet."""
        now = now or timezone.now()
        until = until or at_risk_until(now)
        return self.filter(status=CallbackStatus.OPEN, due_at__gte=now).filter(
            Q(at_risk_at__isnull=True, due_at__lt=until) | Q(at_risk_at__lte=now)
        )

    def back_to_the_team(self, now=None):
        """Open callbacks the person who promised has not claimed by their hand-back time."""
        return self.filter(
            status=CallbackStatus.OPEN, returns_to_team_at__lte=now or timezone.now()
        )

    def mine(self, user):
        return self.active().filter(Q(assigned_to=user) | Q(claimed_by=user))

    def unassigned(self):
        return self.filter(status=CallbackStatus.OPEN, assigned_to__isnull=True)

    def stale_claims(self, now=None):
        """Claims with no attempt for CALLBACK_CLAIM_MINUTES: they go back to the team."""
        cutoff = (now or timezone.now()) - timedelta(minutes=settings.CALLBACK_CLAIM_MINUTES)
        return self.filter(status=CallbackStatus.CLAIMED, claimed_at__lt=cutoff).filter(
            Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff)
        )

    def open_for(self, *, caller_id: int | None = None, phone: str = "", business=None):
        """The open callbacks of the caller on the phone (picked, or known by this exact
        number; of `business` only, when given): the call form's notice, soonest first."""
        if caller_id is not None:
            callers = Caller.objects.filter(pk=caller_id)
        else:
            callers = Caller.objects.matching(phone=phone)
        if business is not None:
            callers = callers.filter(business_id=business)
        return (
            self.active()
            .filter(caller__in=callers)
            .select_related("caller", "claimed_by")
            .order_by("due_at", "pk")
        )

    def for_queue(self):
        """What a row of the queue shows, in one query: only the columns a row shows
        (building every field of 50 callbacks, their callers and people was a tenth of
        the page), with the caller's numbers to dial (`numbers`)."""
        return (
            self.select_related("caller", "assigned_to", "claimed_by")
            .only(*QUEUE_COLUMNS)
            .annotate(numbers=NumbersOf())
        )

    def for_page(self):
        """A callback's page: with its caller, the caller's numbers (`numbers`) and its
        call, in one query. The people it names come in one more (Callback.fetch_people):
        joined here too, the nine tables took PostgreSQL longer to plan (~3 ms at a million
        calls) than to read."""
        return self.select_related("caller", "call").annotate(numbers=NumbersOf())

    def queue_counts(self, user, now=None) -> dict[str, int]:
        """The size of each queue view (mine, unassigned, team, overdue, at risk) of the
        callbacks of the businesses `user` may work for, in one statement.

        Asked by every callback page and by the navigation's badges, it is written as SQL:
        Django building the five filtered counts took 1.2 ms, three times as long as
        PostgreSQL took to answer them (README, "Speed"). So it counts the whole queue of
        the user's businesses, and is asked of Callback.objects, never of a narrower
        queryset (whose conditions it would not see)."""
        if self.query.where:
            raise TypeError("queue_counts counts a person's whole queue: ask Callback.objects.")
        now = now or timezone.now()
        window = at_risk_until(now)
        meta = self.model._meta
        column = {name: meta.get_field(name).column for name in _COUNTED}
        adapt = connections[self.db].ops.adapt_datetimefield_value
        scope, scope_params = "", []
        businesses = Business.objects.ids_for(user)
        if businesses is not None:
            if not businesses:
                return dict.fromkeys(("mine", "unassigned", "team", "overdue", "at_risk"), 0)
            scope = f" AND {column['business']} IN ({', '.join(['%s'] * len(businesses))})"
            scope_params = [int(pk) for pk in businesses]
        sql = (
            "SELECT"
            f" COUNT(*) FILTER (WHERE {column['assigned_to']} = %s OR {column['claimed_by']} = %s),"
            f" COUNT(*) FILTER (WHERE {column['assigned_to']} IS NULL AND {column['status']} = %s),"
            " COUNT(*),"
            f" COUNT(*) FILTER (WHERE {column['due_at']} < %s),"
            f" COUNT(*) FILTER (WHERE {column['due_at']} >= %s AND {column['status']} = %s"
            f" AND (({column['at_risk_at']} IS NULL AND {column['due_at']} < %s)"
            f" OR {column['at_risk_at']} <= %s))"
            f" FROM {meta.db_table} WHERE {column['status']} IN (%s, %s){scope}"
        )
        params = [
            user.pk,
            user.pk,
            CallbackStatus.OPEN.value,
            adapt(now),
            adapt(now),
            CallbackStatus.OPEN.value,
            adapt(window),
            adapt(now),
            *[status.value for status in ACTIVE],
            *scope_params,
        ]
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, params)
            mine, unassigned, team, overdue, at_risk = cursor.fetchone()
        return {
            "mine": mine,
            "unassigned": unassigned,
            "team": team,
            "overdue": overdue,
            "at_risk": at_risk,
        }


# The columns queue_counts reads.
_COUNTED = ("business", "assigned_to", "claimed_by", "status", "due_at", "at_risk_at")


class Callback(models.Model):
    """A promise to call a caller back by a given time, kept open until it is kept."""

    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="callbacks")
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="callbacks")
    caller = models.ForeignKey(Caller, on_delete=models.PROTECT, related_name="callbacks")
    # Calls the same caller made while this callback was open, attached to it.
    later_calls = models.ManyToManyField(Call, related_name="attached_callbacks", blank=True)
    reason = models.CharField(max_length=200)
    promise = models.CharField(
        "promise as told to the caller",
        max_length=200,
        help_text="The words said on the phone, e.g. “We'll call you back by 3:15 pm”.",
    )
    preferred_window = models.CharField(
        "caller's preferred window", max_length=100, blank=True, help_text="e.g. after 5 pm"
    )
    due_at = models.DateTimeField("due")
    # The time told to the caller. Rescheduling moves due_at, never this: a promise missed
    # stays visible as missed.
    promised_due_at = models.DateTimeField("due as promised", null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="callbacks_assigned",
        help_text="Nobody: the whole team.",
    )
    # Kept by the person who promised (PromiseKeeping): when it goes back to the team if
    # they have not claimed it. None: assigned by a person, or the team's already.
    returns_to_team_at = models.DateTimeField("back to the team at", null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=CallbackStatus.choices, default=CallbackStatus.OPEN
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="callbacks_claimed",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(
        blank=True, max_length=2000, help_text="How it ended, or why it was cancelled."
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="callbacks_closed",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="callbacks_created"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by the sweep when it sent the "due" and "overdue" reminders for the current due
    # time: never twice. Rescheduling clears them, since the new time deserves new ones.
    due_reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_reminded_at = models.DateTimeField(null=True, blank=True)
    # A promise kept within business hours (PromiseKeeping.within_business_hours): when it
    # comes at risk and when its "due soon" reminder goes, worked out on that clock with
    # its due time (CALLBACK_AT_RISK_MINUTES, CALLBACK_REMIND_MINUTES of open time before
    # it). None: any hour, the plain clock (those minutes before the due time).
    at_risk_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    # Optimistic locking: an attempt names the version it was recorded against.
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(
        excluded_fields=[
            "updated_at",
            "version",
            "due_reminded_at",
            "overdue_reminded_at",
            "returns_to_team_at",
            "at_risk_at",
            "remind_at",
        ]
    )
    objects = CallbackQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        permissions = [("manage_callback", "Can reassign and cancel callbacks")]
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                name="callback_active_due_idx",
                condition=Q(status__in=["open", "claimed"]),
            ),
            # The queue's counts (queue_counts) from the index alone, without reading a
            # table page per callback (PostgreSQL; other databases ignore `include`).
            models.Index(
                fields=["due_at"],
                include=["id", "status", "assigned_to", "claimed_by", "at_risk_at"],
                name="callback_counts_idx",
                condition=Q(status__in=["open", "claimed"]),
            ),
            models.Index(
                fields=["assigned_to", "due_at"],
                name="callback_assigned_due_idx",
                condition=Q(status__in=["open", "claimed"]),
            ),
            models.Index(
                fields=["claimed_by", "due_at"],
                name="callback_claimed_due_idx",
                condition=Q(status="claimed"),
            ),
            models.Index(
                fields=["returns_to_team_at"],
                name="callback_hand_back_idx",
                condition=Q(status="open", returns_to_team_at__isnull=False),
            ),
            # A business's kept callbacks, latest first (the client portal).
            models.Index(
                fields=["business", "-closed_at", "-id"],
                name="callback_business_kept_idx",
                condition=Q(status="done"),
            ),
            models.Index(
                fields=["caller"],
                name="callback_caller_active_idx",
                condition=Q(status__in=["open", "claimed"]),
            ),
            # The dashboard's promises still open of a range, and how many are overdue,
            # from the index alone (followups.reports.LIVE_CALLBACKS_SQL).
            models.Index(
                fields=["created_at"],
                include=["due_at", "business"],
                name="callback_active_created_idx",
                condition=Q(status__in=["open", "claimed"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CallbackStatus.values), name="callback_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="callback_priority_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="claimed")
                | Q(claimed_by__isnull=False, claimed_at__isnull=False),
                name="callback_claimed_has_claimant",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["done", "cancelled"])
                | (~Q(outcome="") & Q(closed_at__isnull=False)),
                name="callback_closed_has_outcome",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="callback_reason_not_empty"),
        ]

    def __str__(self):
        return f"Call back {self.caller} by {timezone.localtime(self.due_at):%b %d %H:%M}"

    def get_absolute_url(self):
        return reverse("callbacks:detail", args=[self.pk])

    def fetch_people(self) -> None:
        """Read the people this callback's page names (who took its call, who it is
        assigned to, who claimed and who closed it) in one query, as select_related would
        have: see CallbackQuerySet.for_page."""
        fetch_people(
            [
                (self.call, "taken_by"),
                (self, "assigned_to"),
                (self, "claimed_by"),
                (self, "closed_by"),
            ]
        )

    @property
    def is_active(self):
        return self.status in ACTIVE

    @property
    def is_overdue(self):
        return self.is_active and self.due_at < timezone.now()

    @property
    def missed_promise(self):
        """The time promised to the caller, when it has passed and the callback was moved
        to a later one (after no answer, a voicemail); else None."""
        promised = self.promised_due_at
        if promised is not None and promised < self.due_at and promised < timezone.now():
            return promised
        return None

    @property
    def is_unclaimed(self):
        """Open and nobody is calling them yet: anyone on the front desk may claim it."""
        return self.status == CallbackStatus.OPEN

    @property
    def is_claimed(self):
        return self.status == CallbackStatus.CLAIMED

    @property
    def is_cancelled(self):
        return self.status == CallbackStatus.CANCELLED

    @property
    def is_urgent(self):
        return self.priority >= Priority.URGENT

    @property
    def is_high_priority(self):
        return self.priority == Priority.HIGH


class CallbackAttempt(models.Model):
    """One try at keeping a callback: when, who, and what happened."""

    callback = models.ForeignKey(Callback, on_delete=models.PROTECT, related_name="attempts")
    attempted_at = models.DateTimeField(default=timezone.now)
    attempted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="callback_attempts"
    )
    result = models.CharField(max_length=16, choices=AttemptResult.choices)
    note = models.TextField(blank=True, max_length=2000)
    # The new due time when this attempt rescheduled the callback.
    rescheduled_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-pk"]
        indexes = [
            models.Index(fields=["callback", "-attempted_at"], name="attempt_callback_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(result__in=AttemptResult.values), name="attempt_result_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_result_display()} at {timezone.localtime(self.attempted_at):%H:%M}"


# A callback kept by the time told to the caller (or, before that time was recorded, by its
# due time): the portal's month summary and the dashboard count these as kept on time.
KEPT_ON_TIME = Q(status=CallbackStatus.DONE) & (
    Q(closed_at__lte=models.F("promised_due_at"))
    | Q(promised_due_at__isnull=True, closed_at__lte=models.F("due_at"))
)
# The bounds of the tallies' time histograms, in seconds: how long calls lasted, how long
# an escalation waited for a manager, how long a caller waited for their callback. A
# median is read from these (followups.tally.median): to within its bucket.
TALK_BOUNDS = (30, 60, 120, 180, 300, 600, 1200)
ACK_BOUNDS = (60, 120, 300, 600, 900, 1800, 3600)
BACK_BOUNDS = (900, 1800, 3600, 7200, 14400, 28800, 86400)


class Tally(models.Model):
    """What the front desk did for one business on one of its days (its own calendar day,
    in its time zone): the sums the dashboard and the minutes report add up; PersonTally
    splits the day's figures of the table "By receptionist" by person.

    Kept by followups.tally, recounted from the calls, escalations and callbacks of the day
    after each change to one of them commits: a page adds up a few rows per day instead of
    reading every call of a 90-day range (500,000 at a million calls). The three
    `*_within_N` families count those done within the Nth bound of
    TALK_BOUNDS, ACK_BOUNDS and BACK_BOUNDS (cumulative: within 60 s includes within 30 s).
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    # Talk time of the calls that ended, each rounded to the second; the sums of each call's
    # time rounded up to the next minute and to the next 6 seconds (billing rules).
    # Integers (a business's day of calls is far from 2**31 seconds): PostgreSQL sums them
    # as bigint, and a bigint column as numeric, several times slower.
    seconds = models.PositiveIntegerField(default=0)
    minutes_up = models.PositiveIntegerField(default=0)
    sixths_up = models.PositiveIntegerField(default=0)
    sales = models.PositiveIntegerField(default=0)
    appointment = models.PositiveIntegerField(default=0)
    urgent = models.PositiveIntegerField(default=0)
    other = models.PositiveIntegerField(default=0)
    low = models.PositiveIntegerField(default=0)
    normal = models.PositiveIntegerField(default=0)
    high = models.PositiveIntegerField(default=0)
    emergency = models.PositiveIntegerField(default=0)
    calm = models.PositiveIntegerField(default=0)
    upset = models.PositiveIntegerField(default=0)
    angry = models.PositiveIntegerField(default=0)
    abusive = models.PositiveIntegerField(default=0)
    # Calls by hour of the day and nature: 24 lists of [sales, appointment, urgent, other].
    hours = models.JSONField(default=list)
    ended = models.PositiveIntegerField(default=0)  # calls with an end time (timed ones)
    escalations = models.PositiveIntegerField(default=0)
    acknowledged = models.PositiveIntegerField(default=0)
    acknowledged_in_time = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    promised = models.PositiveIntegerField(default=0)
    kept_on_time = models.PositiveIntegerField(default=0)
    kept_late = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)

    class Meta:
        permissions = [
            ("view_reports", "Can see the dashboard and the reports"),
            ("export_data", "Can export the call log, the callbacks and the minutes as CSV"),
        ]
        indexes = [
            # With the natures: the dashboard's calls per day from the index alone.
            models.Index(
                fields=["day", "business"],
                include=["sales", "appointment", "urgent", "other"],
                name="tally_day_natures_idx",
            ),
        ]
        constraints = [
            # One row per business and day: the recounts take turns (followups.tally).
            models.UniqueConstraint(fields=["business", "day"], name="tally_one_per_day"),
        ]

    def __str__(self):
        return f"{self.business_id} {self.day}: {self.calls} calls"


class PersonTally(models.Model):
    """One person's share of a business's day: each count belongs to the person it is
    about (a call to who took it, an escalation to who raised it, a kept callback to who
    closed it; None: nobody, or the sweeps)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    calls = models.PositiveIntegerField(default=0)
    ended = models.PositiveIntegerField(default=0)
    escalations = models.PositiveIntegerField(default=0)
    kept_on_time = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "business"], name="person_tally_day_idx")]

    def __str__(self):
        return f"{self.business_id} {self.day} {self.person_id}: {self.calls} calls"


def _histogram(prefix: str, bounds: tuple) -> list[str]:
    return [f"{prefix}_within_{n}" for n in range(len(bounds))]


TALK_WITHIN = _histogram("talk", TALK_BOUNDS)
ACK_WITHIN = _histogram("ack", ACK_BOUNDS)
BACK_WITHIN = _histogram("back", BACK_BOUNDS)
for _name in (*TALK_WITHIN, *ACK_WITHIN, *BACK_WITHIN):
    Tally.add_to_class(_name, models.PositiveIntegerField(default=0))
for _name in TALK_WITHIN:
    PersonTally.add_to_class(_name, models.PositiveIntegerField(default=0))


class MonthTally(models.Model):
    """A business's whole calendar month: the sums of its Tally rows (every count; not the
    hours), kept by followups.tally with the days. A 90-day range adds up its whole months
    here and its days at either end there: some 30 rows a business instead of 90."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # the month's first day

    class Meta:
        indexes = [models.Index(fields=["day", "business"], name="month_tally_day_idx")]
        constraints = [
            models.UniqueConstraint(fields=["business", "day"], name="month_tally_one_per_month"),
        ]

    def __str__(self):
        return f"{self.business_id} {self.day:%Y-%m}: {self.calls} calls"


class MonthPersonTally(models.Model):
    """A person's share of a business's month: the sums of their PersonTally rows."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # the month's first day
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["day", "business"], name="month_person_tally_day_idx")]

    def __str__(self):
        return f"{self.business_id} {self.day:%Y-%m} {self.person_id}: {self.calls} calls"


def counted(model) -> list[str]:
    """The names of a tally's counts (its whole-number fields, in their order)."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, models.PositiveIntegerField)
    ]


# Every count of the day rows, on their month rows.
for _source, _months in ((Tally, MonthTally), (PersonTally, MonthPersonTally)):
    for _name in counted(_source):
        _months.add_to_class(_name, models.PositiveIntegerField(default=0))


class Export(models.Model):
    """The audit trail of exports: who took which data out of the app, with which filter."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports"
    )
    at = models.DateTimeField(default=timezone.now)
    what = models.CharField(max_length=200)
    filter = models.TextField("filter (the query string)", blank=True, max_length=4000)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.what} by {self.person_id} at {self.at:%Y-%m-%d %H:%M}"


# --- webhooks ------------------------------------------------------------------------------
# What another system (a CRM, practice software) is told, signed, as it happens:
# followups/webhooks.py records and sends; the README's "Webhooks" documents the bodies.


class WebhookEventName(models.TextChoices):
    CALL_LOGGED = "call.logged", "A call is logged"
    MESSAGE_TAKEN = "message.taken", "A message is taken for the business"
    ESCALATION_RAISED = "escalation.raised", "An escalation is raised"
    ESCALATION_ACKNOWLEDGED = "escalation.acknowledged", "An escalation is acknowledged"
    ESCALATION_RESOLVED = "escalation.resolved", "An escalation is resolved"
    CALLBACK_DUE = "callback.due", "A callback comes due soon"
    CALLBACK_OVERDUE = "callback.overdue", "A callback is overdue"
    CALLBACK_CLOSED = "callback.closed", "A callback is closed (kept or cancelled)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookEndpointQuerySet(models.QuerySet):
    def subscriptions(self) -> list[tuple[int, set[str], set[int]]]:
        """Every endpoint as (id, its events, its businesses: empty for every business),
        paused ones too (their deliveries wait for them), in one query: an endpoint per
        business it names, joined."""
        found: dict[int, tuple[int, set[str], set[int]]] = {}
        for pk, events, business_id in self.values_list("pk", "events", "businesses"):
            row = found.setdefault(pk, (pk, set(events or ()), set()))
            if business_id is not None:
                row[2].add(business_id)
        return list(found.values())


class WebhookEndpoint(models.Model):
    """A URL of another system that is sent, signed with its secret, the events it asks for."""

    url = models.URLField("URL", max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Signs every delivery (HMAC-SHA256): the receiving system holds the same secret, so it
    # is stored as it is (a hash could not sign), and shown to managers only.
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list)
    businesses = models.ManyToManyField(
        Business,
        blank=True,
        related_name="webhook_endpoints",
        help_text="None: every business.",
    )
    # Set when it failed WEBHOOK_PAUSE_AFTER_FAILURES times in a row (or a manager paused
    # it): nothing is sent until a manager resumes it; its deliveries wait.
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    # Tries that failed since the last one that succeeded.
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["url", "pk"]

    def __str__(self):
        return self.description or self.url

    def get_absolute_url(self):
        return reverse("webhooks:detail", args=[self.pk])

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    def event_labels(self) -> list[str]:
        labels = dict(WebhookEventName.choices)
        return [labels.get(name, name) for name in self.events]


class WebhookEvent(models.Model):
    """Something that happened, as the JSON body every endpoint that asked for it is sent
    (the same bytes on every try and replay); recorded in the transaction of the write."""

    id = models.UUIDField(primary_key=True, editable=False)
    name = models.CharField(max_length=40, choices=WebhookEventName.choices)
    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField()
    body = models.TextField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(name__in=WebhookEventName.values), name="webhook_event_name_valid"
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.id}"


class WebhookDeliveryQuerySet(models.QuerySet):
    def due(self, now):
        """Deliveries to try now: pending, their time come, their endpoint not paused."""
        return self.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__paused_at=None
        ).order_by("next_attempt_at", "pk")


class WebhookDelivery(models.Model):
    """One event sent to one endpoint: its tries, the last answer, and what comes next.
    A replay is a new delivery of the same event (`replay_of` the one replayed)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next try is due (pending), else None. While a worker sends, a lease: a
    # worker that dies mid-send leaves the delivery to the next sweep after it.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    replay_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays"
    )

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The sweep's question: pending, by when they are due.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
            # An endpoint's log, newest first (keyset pages).
            models.Index(fields=["endpoint", "created_at", "id"], name="webhook_delivery_log_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"
            ),
            # One waiting delivery of an event per endpoint: a replay clicked twice is one.
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                condition=Q(status="pending"),
                name="webhook_delivery_one_pending",
            ),
        ]

    def __str__(self):
        return f"{self.event_id} to {self.endpoint_id}: {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status == DeliveryStatus.PENDING

    @property
    def is_delivered(self) -> bool:
        return self.status == DeliveryStatus.DELIVERED

    @property
    def is_failed(self) -> bool:
        return self.status == DeliveryStatus.FAILED


# --- confirmed delivery of urgent messages ---------------------------------------------
# A message taken that must be confirmed (high or emergency urgency, or any message of a
# business that confirms every one) is told to whoever is on call, one after another,
# until one of them confirms it: followups/deliveries.py runs the ladder.


class StepResult(models.TextChoices):
    WAITING = "waiting", "Waiting for a confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    TIMED_OUT = "timed_out", "Not confirmed in time"
    FAILED = "failed", "Could not be sent"
    UNREACHABLE = "unreachable", "Not reachable: no address for any channel"
    STOPPED = "stopped", "No longer needed: someone else confirmed"
    # The call was edited to a message that needs no confirming while this person had it.
    WITHDRAWN = "withdrawn", "No longer needed: no longer a message to confirm"
    # On the ladder when the message was taken, deleted from the business's contacts since.
    REMOVED = "removed", "Skipped: no longer one of the business's contacts"


class NoticeStatus(models.TextChoices):
    """Where the notice of one step stands: sent once, by one worker."""

    PENDING = "pending", "To be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    NOT_SENT = "not_sent", "Not sent"


class ConfirmedVia(models.TextChoices):
    LINK = "link", "the link in the e-mail"
    PORTAL = "portal", "the client portal"


class MessageDeliveryQuerySet(models.QuerySet):
    def due(self, now):
        """Deliveries whose person notified has had their time to confirm: the sweep tells
        the next one."""
        return self.filter(state=DeliveryState.SENT, next_at__lte=now).order_by("next_at", "pk")


class MessageDelivery(models.Model):
    """The delivery of an urgent message to its business: the people on call when it was
    taken, told one after another until one of them confirms it."""

    call = models.OneToOneField(Call, on_delete=models.PROTECT, related_name="delivery")
    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.SENT
    )
    started_at = models.DateTimeField(default=timezone.now)
    # How long each person has to confirm, fixed when it starts (Business.confirm_minutes_*).
    window_minutes = models.PositiveSmallIntegerField()
    # Who was on call when it started, in order, as they were then: [{"contact": id,
    # "name": ..., "email": ..., "phone": ..., "role": ...}]. A change of the schedule
    # afterwards does not reshuffle a ladder already climbing.
    ladder = models.JSONField(default=list)
    # Whether the ladder came from the on-call schedule (else: the contacts, by name).
    scheduled = models.BooleanField(default=True)
    # The place on the ladder of the next person to tell.
    next_rung = models.PositiveSmallIntegerField(default=0)
    # When the person told last has had their time (the sweep's mark: it moves on at each
    # rung, and is None once confirmed or escalated).
    next_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by_name = models.CharField(max_length=200, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_via = models.CharField(max_length=10, choices=ConfirmedVia.choices, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.CharField(max_length=300, blank=True)
    escalation = models.ForeignKey(
        Escalation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = MessageDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            # The sweep's question: waiting, by when the person told last has had their time.
            models.Index(
                fields=["next_at", "id"],
                condition=Q(state="sent"),
                name="message_delivery_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values), name="message_delivery_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="confirmed")
                | Q(confirmed_at__isnull=False) & ~Q(confirmed_via=""),
                name="message_delivery_confirmed_has_when_and_how",
            ),
            models.CheckConstraint(
                condition=Q(state="sent") | Q(next_at__isnull=True),
                name="message_delivery_waits_only_while_sent",
            ),
            models.CheckConstraint(
                condition=Q(window_minutes__gte=1), name="message_delivery_window_positive"
            ),
        ]

    def __str__(self):
        return f"Delivery of call {self.call_id}: {self.state}"

    @property
    def is_waiting(self) -> bool:
        return self.state == DeliveryState.SENT

    @property
    def is_confirmed(self) -> bool:
        return self.state == DeliveryState.CONFIRMED

    @property
    def is_escalated(self) -> bool:
        return self.escalated_at is not None

    @property
    def is_stopped(self) -> bool:
        """Stopped while waiting: the call was edited to a message that needs no confirming."""
        return self.state == DeliveryState.STOPPED

    @property
    def asks_confirming(self) -> bool:
        """Whether the portal offers its Confirm button: not confirmed, and not stopped."""
        return not self.is_confirmed and not self.is_stopped


class DeliveryStep(models.Model):
    """One rung of a delivery: who was told, when, by which channel, and what came of it."""

    delivery = models.ForeignKey(MessageDelivery, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    contact = models.ForeignKey(
        "callers.BusinessContact", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # As they were when told (a contact may be renamed or removed afterwards).
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, blank=True)
    address = models.CharField(max_length=254, blank=True)
    notified_at = models.DateTimeField()
    # When their time to confirm runs out (None: a step that waited for nothing).
    ends_at = models.DateTimeField(null=True, blank=True)
    notice = models.CharField(
        max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.PENDING
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    result = models.CharField(max_length=12, choices=StepResult.choices, default=StepResult.WAITING)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "position"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "position"], name="delivery_step_once"),
            models.CheckConstraint(
                condition=Q(result__in=StepResult.values), name="delivery_step_result_valid"
            ),
            models.CheckConstraint(
                condition=Q(notice__in=NoticeStatus.values), name="delivery_step_notice_valid"
            ),
        ]

    def __str__(self):
        return f"{self.position}: {self.name} ({self.result})"

    @property
    def is_waiting(self) -> bool:
        return self.result == StepResult.WAITING

    @property
    def is_confirmed(self) -> bool:
        return self.result == StepResult.CONFIRMED

    @property
    def is_sent(self) -> bool:
        return self.notice == NoticeStatus.SENT

    @property
    def send_failed(self) -> bool:
        return self.notice == NoticeStatus.FAILED

    @property
    def not_sent(self) -> bool:
        return self.notice == NoticeStatus.NOT_SENT

    @property
    def is_unreachable(self) -> bool:
        return self.result == StepResult.UNREACHABLE

    @property
    def channel_label(self) -> str:
        from followups.channels import label_of

        return label_of(self.channel)

    @property
    def went_wrong(self) -> bool:
        return self.result in (
            StepResult.TIMED_OUT,
            StepResult.FAILED,
            StepResult.UNREACHABLE,
            StepResult.REMOVED,
        )
