"""Calls: every phone call the front desk takes or makes."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, When, Window
from django.db.models.functions import Coalesce, RowNumber
from django.urls import reverse
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from callers.models import Business, Caller
from calls import search
from receptionist.bounds import EARLIEST
from receptionist.roles import PERSON_COLUMNS, fetch_people

# A browser's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
MAX_DURATION = timedelta(days=1)


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Nature(models.TextChoices):
    SALES = "sales", "Sales"
    APPOINTMENT = "appointment", "Question / appointment"
    URGENT = "urgent", "Urgent"
    OTHER = "other", "Other"


class Urgency(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    EMERGENCY = "emergency", "Emergency"


# The urgencies whose messages are always confirmed (followups.deliveries), and called
# urgent in what people read.
URGENT_MESSAGE_URGENCIES = frozenset({Urgency.HIGH, Urgency.EMERGENCY})


class Mood(models.TextChoices):
    CALM = "calm", "Calm"
    UPSET = "upset", "Upset"
    ANGRY = "angry", "Angry"
    ABUSIVE = "abusive", "Abusive"


class MessageStatus(models.TextChoices):
    """Where the e-mail of a message taken is (Call.message_status)."""

    PENDING = "pending", "To be e-mailed"
    SENDING = "sending", "Being e-mailed"
    SENT = "sent", "E-mailed"
    NO_CONTACTS = "no_contacts", "Not e-mailed: the business has no contact with an e-mail"
    FAILED = "failed", "E-mail failed"


# Call.message_state's word for each status, for a row of the call log.
MESSAGE_STATES = {
    MessageStatus.PENDING: "to be e-mailed",
    MessageStatus.SENDING: "being e-mailed",
    MessageStatus.SENT: "e-mailed",
    MessageStatus.NO_CONTACTS: "not e-mailed",
    MessageStatus.FAILED: "e-mail failed",
}


class DeliveryState(models.TextChoices):
    """Where the confirmed delivery of an urgent message stands (Call.delivery_state; the
    ladder itself is followups'): told to someone on call and waiting, confirmed by a
    person, nobody confirmed and the managers were told to phone the business, or stopped
    while waiting because the call was edited to a message that needs no confirming."""

    SENT = "sent", "Sent: waiting for someone on call to confirm"
    CONFIRMED = "confirmed", "Confirmed"
    ESCALATED = "escalated", "Nobody confirmed: escalated to the managers"
    STOPPED = "stopped", "Stopped: no longer a message to confirm"


# Call.delivery_word and .delivery_tone for each state: a row of the call log's badge.
DELIVERY_WORDS = {
    DeliveryState.SENT: ("sent", "warning"),
    DeliveryState.CONFIRMED: ("confirmed", "success"),
    DeliveryState.ESCALATED: ("escalated", "danger"),
    DeliveryState.STOPPED: ("stopped", "secondary"),
}


class Outcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    MESSAGE_TAKEN = "message_taken", "Message taken"
    TRANSFERRED = "transferred", "Transferred"
    CALLBACK_SCHEDULED = "callback_scheduled", "Callback scheduled"
    TERMINATED_ABUSIVE = "terminated_abusive", "Ended for abuse"
    WRONG_NUMBER = "wrong_number", "Wrong number"


# The columns of the call log's rows (jinja/calls/call-rows.html) and their paging key.
LIST_COLUMNS = (
    "business_id",
    "started_at",
    "nature",
    "urgency",
    "mood",
    "summary",
    "outcome",
    "message_status",
    "message_read_at",
    "delivery_state",
    "caller__name",
    "caller__organisation",
    "caller__is_vip",
    "caller__caution",
    "caller__caution_note",
    "taken_by__username",
    "taken_by__first_name",
    "taken_by__last_name",
)


# What a row of the managers' "Resolved" view shows (jinja/calls/resolved-rows.html).
RESOLVED_COLUMNS = (
    "resolved_at",
    "reason",
    "debrief",
    "call__caller__name",
    "call__caller__is_vip",
    "call__caller__caution",
    "call__caller__caution_note",
    *(f"resolved_by__{column}" for column in PERSON_COLUMNS),
    *(f"raised_by__{column}" for column in PERSON_COLUMNS),
)

# What a row of the managers' escalation queue shows (jinja/calls/escalation-rows.html).
QUEUE_COLUMNS = (
    "business_id",
    "status",
    "severity",
    "reason",
    "raised_at",
    "ack_deadline",
    "call__caller__name",
    "call__caller__is_vip",
    "call__caller__caution",
    "call__caller__caution_note",
    *(f"raised_by__{column}" for column in PERSON_COLUMNS),
    *(f"assigned_to__{column}" for column in PERSON_COLUMNS),
)


class CallQuerySet(models.QuerySet):
    def for_user(self, user):
        """Calls of the businesses this user may work for."""
        return Business.objects.limit(self, user)

    def for_page(self):
        """A call's page: with its caller and who took it, and whether it has escalations
        and callbacks (`has_escalations`, `has_callbacks`): most calls have neither, and
        their lists are then not asked for."""
        # Through the reverse relation that followups adds to Call: calls does not import it.
        callbacks = self.model._meta.get_field("callbacks").related_model._default_manager
        escalations = self.model._meta.get_field("escalations").related_model._default_manager
        return self.select_related("caller", "taken_by", "business").annotate(
            has_escalations=Exists(escalations.filter(call=OuterRef("pk"))),
            has_callbacks=Exists(callbacks.filter(call=OuterRef("pk"))),
        )

    def for_list(self):
        """What a row of the call log shows, in one query: only the columns a row shows
        (building the other twenty-odd fields, and parsing the phone number, of 150 model
        instances was a third of the page's time)."""
        return (
            self.select_related("caller", "taken_by")
            .only(*LIST_COLUMNS)
            .order_by("-started_at", "-id")
        )

    def search(self, text: str):
        """Calls whose words or caller match the search: see calls.search."""
        return search.search(self, text)

    def ranked_search(self, text: str, *, among=None):
        """The search, each call annotated with its `relevance` (higher is better)."""
        return search.ranked(self, text, among=among)

    def latest_query(self, caller_ids: list, n: int):
        """Each caller's last `n` calls in one query, not yet read (by_caller groups them,
        newest first). Where the database allows it (PostgreSQL),
        a UNION of one small query per caller, each read in order from
        call_caller_started_idx: ranking every call of each caller with a window function
        (a sliced Prefetch) sorted all 9,000 calls of the busiest one (~10 ms)."""
        ordered = self.order_by("-started_at", "-pk")
        if connection.features.supports_slicing_ordering_in_compound:
            parts = [ordered.filter(caller_id=pk)[:n] for pk in caller_ids]
            return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        return (
            ordered.filter(caller_id__in=caller_ids)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=F("caller_id"),
                    order_by=[F("started_at").desc(), F("pk").desc()],
                )
            )
            .filter(rank__lte=n)
        )

    @staticmethod
    def by_caller(caller_ids: list, calls) -> dict[int, list]:
        """The calls of each of these callers, newest first."""
        latest: dict[int, list] = {pk: [] for pk in caller_ids}
        for call in sorted(calls, key=lambda call: (call.started_at, call.pk), reverse=True):
            latest[call.caller_id].append(call)
        return latest

    def counts_of_caller(self, caller="pk", now=None, *, since=None) -> dict:
        """Annotations for a query of callers: `calls_today` and `calls_week`, the calls
        of each one today and in the last 7 days, read with the caller (subqueries of the
        callers' own query, each counted from call_caller_started_idx): a query of its
        own cost the lookup panel and the caller page a tenth of their time. `since`: the
        two moments they count from, when not those of `now` (`count_boundaries`)."""
        start_of_day, week_ago = since or self.count_boundaries(now)

        def calls_since(moment):
            counted = (
                self.filter(caller_id=OuterRef(caller), started_at__gte=moment)
                .order_by()
                .values("caller_id")
                # COUNT(*), not of the id: the index holds no id, and counting ids read
                # every row of a busy caller's week from the table (0.8 ms for 258 calls,
                # against 0.1 ms from the index alone).
                .annotate(n=Count("*"))
                .values("n")
            )
            return Coalesce(Subquery(counted), 0)

        return {"calls_today": calls_since(start_of_day), "calls_week": calls_since(week_ago)}

    @staticmethod
    def count_boundaries(now=None) -> tuple:
        """Where counts_of_caller's "today" and "in the last 7 days" begin."""
        now = now or timezone.now()
        start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        return start_of_day, now - timedelta(days=7)


class Call(models.Model):
    """One phone call: who, why, how urgent, how they felt, and what happened."""

    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="calls")
    caller = models.ForeignKey(Caller, on_delete=models.PROTECT, related_name="calls")
    phone = PhoneNumberField("number called from", blank=True)
    started_at = models.DateTimeField("started")
    ended_at = models.DateTimeField("ended", null=True, blank=True)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.INBOUND
    )
    nature = models.CharField(max_length=12, choices=Nature.choices, default=Nature.APPOINTMENT)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    mood = models.CharField(max_length=10, choices=Mood.choices, default=Mood.CALM)
    summary = models.CharField(max_length=200)
    wants = models.TextField("what the caller wants", blank=True, max_length=2000)
    promised = models.TextField("what was promised", blank=True, max_length=2000)
    # What the business is told (its portal, its contacts' e-mail), apart from the internal
    # notes, which never leave the front desk.
    message = models.TextField("message for the business", blank=True, max_length=5000)
    notes = models.TextField("internal notes", blank=True, max_length=10000)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RESOLVED)
    # A message taken (outcome "Message taken"): whether its business's contacts were
    # e-mailed (calls.tasks.send_message, after the call is saved) and when the business
    # read it in its portal.
    message_status = models.CharField(
        max_length=12, choices=MessageStatus.choices, blank=True, default=""
    )
    message_sent_at = models.DateTimeField("message e-mailed", null=True, blank=True)
    message_sent_to = models.TextField("message e-mailed to", blank=True, default="")
    message_read_at = models.DateTimeField("message read", null=True, blank=True)
    message_read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # An urgent message delivered until someone on call confirms it (followups.deliveries
    # keeps the ladder and sets this): shown on the call log's row without reading it.
    # The database default lets the demo loader's COPY leave the column out.
    delivery_state = models.CharField(
        max_length=10,
        choices=DeliveryState.choices,
        blank=True,
        default="",
        db_default="",
        editable=False,
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calls_taken"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Optimistic locking: an edit names the version it started from (see services.call_update).
    version = models.PositiveIntegerField(default=1)
    # The call form's one-time key: the same form sent twice logs one call (see call_log).
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    history = HistoricalRecords(
        excluded_fields=[
            "version",
            "updated_at",
            "submission_key",
            "message_status",
            "message_sent_at",
            "message_sent_to",
            "message_read_at",
            "message_read_by",
            "delivery_state",
        ]
    )
    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [
            ("read_messages", "Can read the calls and messages of their business (client portal)")
        ]
        indexes = [
            models.Index(fields=["-started_at", "-id"], name="call_started_idx"),
            models.Index(fields=["caller", "-started_at"], name="call_caller_started_idx"),
            models.Index(fields=["taken_by", "-started_at"], name="call_taken_by_started_idx"),
            models.Index(fields=["nature", "-started_at"], name="call_nature_started_idx"),
            models.Index(fields=["urgency", "-started_at"], name="call_urgency_started_idx"),
            models.Index(fields=["mood", "-started_at"], name="call_mood_started_idx"),
            models.Index(fields=["outcome", "-started_at"], name="call_outcome_started_idx"),
            # A business's calls, newest first (the client portal), with what its month
            # summary counts: the month is read from the index alone (PostgreSQL).
            models.Index(
                fields=["business", "-started_at", "-id"],
                name="call_business_started_idx",
                include=["nature", "urgency", "outcome", "message_read_at"],
            ),
            # A business's messages not read yet (the portal's "Unread").
            models.Index(
                fields=["business", "-started_at", "-id"],
                condition=Q(outcome="message_taken", message_read_at__isnull=True),
                name="call_unread_message_idx",
            ),
            # The call log's "Number withheld" filter: the calls logged without a number.
            models.Index(
                fields=["-started_at", "-id"],
                condition=Q(phone=""),
                name="call_withheld_started_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="call_direction_valid"
            ),
            models.CheckConstraint(condition=Q(nature__in=Nature.values), name="call_nature_valid"),
            models.CheckConstraint(
                condition=Q(urgency__in=Urgency.values), name="call_urgency_valid"
            ),
            models.CheckConstraint(condition=Q(mood__in=Mood.values), name="call_mood_valid"),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="call_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="call_ended_after_started",
            ),
            models.CheckConstraint(condition=~Q(summary=""), name="call_summary_not_empty"),
            models.CheckConstraint(
                condition=Q(delivery_state__in=["", *DeliveryState.values]),
                name="call_delivery_state_valid",
            ),
        ]

    def __str__(self):
        return f"{self.caller} — {self.summary}"

    def get_absolute_url(self):
        return reverse("calls:detail", args=[self.pk])

    @property
    def duration(self):
        if self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def has_message(self) -> bool:
        """A message was taken for the business (it is e-mailed and shown in its portal)."""
        return self.outcome == Outcome.MESSAGE_TAKEN

    @property
    def message_state(self) -> str:
        """Where the message stands, in a word or two: read, else how its e-mail went."""
        if not self.has_message:
            return ""
        if self.message_read_at is not None:
            return "read"
        return MESSAGE_STATES.get(self.message_status, "not read")

    @property
    def is_urgent_message(self) -> bool:
        """Its urgency makes its message one to confirm whatever the business (high or
        emergency; followups.deliveries). A message of a business that confirms every one
        (Business.always_confirm) is confirmed too, but not called urgent."""
        return self.urgency in URGENT_MESSAGE_URGENCIES

    @property
    def delivery_word(self) -> str:
        """The delivery of an urgent message in a word ("sent", "confirmed", "escalated"),
        or "" for a call with none."""
        return DELIVERY_WORDS.get(self.delivery_state, ("", ""))[0]

    @property
    def delivery_tone(self) -> str:
        """The colour of its badge (a Bootstrap one: warning, success, danger)."""
        return DELIVERY_WORDS.get(self.delivery_state, ("", "secondary"))[1]

    @property
    def number_withheld(self) -> bool:
        """Logged without a number: the caller withheld it (or it was not known)."""
        return not self.phone

    @property
    def is_difficult(self):
        return self.mood in {Mood.ANGRY, Mood.ABUSIVE}

    @property
    def is_calm(self):
        return self.mood == Mood.CALM

    @property
    def is_pressing(self):
        """High or emergency urgency: shown in red in lists."""
        return self.urgency in {Urgency.HIGH, Urgency.EMERGENCY}

    def clean(self):
        errors = {}
        latest = timezone.now() + CLOCK_SKEW
        started, ended = self.started_at, self.ended_at
        if started is not None:
            if started < EARLIEST:
                errors["started_at"] = "A call in this log cannot have started before 2000."
            elif started > latest:
                errors["started_at"] = "The call cannot start in the future."
        if ended is not None and "started_at" not in errors:
            if ended > latest:
                errors["ended_at"] = "The call cannot end in the future."
            elif started is not None and ended < started:
                errors["ended_at"] = "The call cannot end before it started."
            elif started is not None and ended - started > MAX_DURATION:
                errors["ended_at"] = "A call cannot last more than a day: check the end time."
        if errors:
            raise ValidationError(errors)


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Severity(models.IntegerChoices):
    NORMAL = 1, "Normal"
    HIGH = 2, "High"
    CRITICAL = 3, "Critical"


class CautionDecision(models.TextChoices):
    KEEP = "keep", "Leave the caller's caution flag as it is"
    SET = "set", "Set the caution flag with a handling note"
    CLEAR = "clear", "Clear the caution flag"


# The de-escalation playbook, in the order a receptionist works through it.
PLAYBOOK = [
    ("listen", "Stay calm and listen without interrupting"),
    ("ask", "Ask questions to understand what happened"),
    ("mirror", "Mirror and paraphrase what they said"),
    ("prime", "Prime: say what you can do next"),
    ("agree", "Find something to agree on"),
    ("resolution", "Speak about resolution, not blame"),
    ("handover", "Hand over to a manager"),
    ("limits", "State the limits: abuse ends the call"),
]
PLAYBOOK_KEYS = [key for key, _ in PLAYBOOK]
HANDOVER_WORDS = (
    "I can sense your frustration about this. I'll get my manager to speak with you so we can "
    "resolve this."
)


def severity_for(mood: str, urgency: str) -> int:
    """Severity from the caller's mood and the call's urgency."""
    if mood == Mood.ABUSIVE or urgency == Urgency.EMERGENCY:
        return Severity.CRITICAL
    if mood == Mood.ANGRY or urgency == Urgency.HIGH:
        return Severity.HIGH
    return Severity.NORMAL


class EscalationQuerySet(models.QuerySet):
    def for_user(self, user):
        """Escalations of the calls of the businesses this user may work for (each keeps
        its call's business: no join)."""
        return Business.objects.limit(self, user)

    def involving(self, user):
        """The escalations this person raised, or of the calls they took."""
        return self.filter(Q(raised_by=user) | Q(call__taken_by=user))

    def newest_involving(self, user, n: int) -> list[int]:
        """The ids of the newest `n` escalations this person raised or whose call they
        took, newest first. Asked as two newest-first lists, each walking the escalations
        by time and stopping at `n`: as one query with an OR across the join to the calls,
        PostgreSQL read every call (140 ms at a million calls)."""
        if connection.features.supports_slicing_ordering_in_compound:
            found = self.newest_involving_query(user.pk, n)
            return self.newest_of([(row.raised_at, row.pk) for row in found], n)
        newest = ("-raised_at", "-pk")
        raised = self.filter(raised_by=user).order_by(*newest).values_list("raised_at", "pk")
        taken = self.filter(call__taken_by=user).order_by(*newest).values_list("raised_at", "pk")
        return self.newest_of([*raised[:n], *taken[:n]], n)

    def newest_involving_query(self, person: int, n: int):
        """newest_involving's two lists as one query (a UNION, where the database allows
        a limit in each part: PostgreSQL), of escalations holding their raised_at alone."""
        newest = ("-raised_at", "-pk")
        raised = self.filter(raised_by_id=person).order_by(*newest).only("raised_at")[:n]
        taken = self.filter(call__taken_by_id=person).order_by(*newest).only("raised_at")[:n]
        return raised.union(taken, all=True)

    @staticmethod
    def newest_of(rows, n: int) -> list[int]:
        """The ids of the newest `n` of (raised_at, id) rows, newest first, each once."""
        return [pk for _, pk in sorted(set(rows), reverse=True)[:n]]

    def visible_to(self, user):
        """The escalations this person may read, debrief included: every one for managers;
        for the front desk, those involving them. The one rule for the escalation page,
        "my escalations", the call page and the API."""
        visible = self.for_user(user)
        if self.sees_every_one(user):
            return visible
        return visible.involving(user)

    @staticmethod
    def sees_every_one(user) -> bool:
        """Whether visible_to(user) is every escalation (of their businesses)."""
        return user.has_perm("calls.manage_escalation")

    def unresolved(self):
        return self.exclude(status=EscalationStatus.RESOLVED)

    def for_queue(self, size: int | None = None):
        """The managers' queue: open first, then by severity, then oldest first; with
        `size`, its first `size` escalations chosen before their calls, callers and people
        are joined (joined first, all 120 waiting at 20 businesses were, to keep 25)."""
        # Open before acknowledged: ordered on status itself, not on a stored copy of it.
        order = (
            Case(When(status=EscalationStatus.OPEN, then=0), default=1),
            "-severity",
            "raised_at",
            "pk",
        )
        queue = self.unresolved()
        if size is not None:
            queue = queue.filter(pk__in=queue.order_by(*order).values("pk")[:size])
        return (
            # What a row shows: each join more costs PostgreSQL time to plan the query.
            queue.select_related("call__caller", "raised_by", "assigned_to")
            .only(*QUEUE_COLUMNS)
            .order_by(*order)
        )

    def resolved(self):
        """Past escalations, for the managers' "Resolved" view, newest first: only the
        columns a row shows (every column of five tables was a third of the page)."""
        return (
            self.filter(status=EscalationStatus.RESOLVED)
            .select_related("call__caller", "resolved_by", "raised_by")
            .only(*RESOLVED_COLUMNS)
            .order_by("-resolved_at", "-pk")
        )

    def overdue(self, now=None):
        """Open escalations past their acknowledgement deadline."""
        return self.filter(status=EscalationStatus.OPEN, ack_deadline__lt=now or timezone.now())


class Escalation(models.Model):
    """A call handed to a manager: raised, acknowledged, resolved with a debrief."""

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="escalations")
    # The call's business, kept on the escalation (set on save): a business's escalations,
    # newest first, are read from its own index (the client portal) rather than by joining
    # every call of the business.
    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, related_name="+", editable=False
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escalations_raised"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(max_length=2000)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.NORMAL)
    playbook_steps = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=12, choices=EscalationStatus.choices, default=EscalationStatus.OPEN
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalations_assigned",
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalations_acknowledged",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_deadline = models.DateTimeField("acknowledge by")
    resolution = models.TextField(blank=True, max_length=5000)
    debrief = models.TextField("debrief note to the receptionist", blank=True, max_length=5000)
    caution_decision = models.CharField(
        max_length=5, choices=CautionDecision.choices, default=CautionDecision.KEEP
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalations_resolved",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Set by the sweep when the "not acknowledged in time" notice went out: never twice.
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()
    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        permissions = [("manage_escalation", "Can acknowledge, assign and resolve escalations")]
        indexes = [
            models.Index(fields=["-raised_at", "-id"], name="escalation_raised_idx"),
            models.Index(
                fields=["business", "-raised_at", "-id"], name="escalation_business_raised_idx"
            ),
            models.Index(
                fields=["-severity", "raised_at"],
                name="escalation_queue_idx",
                condition=~Q(status="resolved"),
            ),
            models.Index(
                fields=["ack_deadline"], name="escalation_overdue_idx", condition=Q(status="open")
            ),
            models.Index(
                fields=["-resolved_at", "-id"],
                name="escalation_resolved_idx",
                condition=Q(status="resolved"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["call"],
                condition=~Q(status="resolved"),
                name="escalation_one_open_per_call",
                violation_error_message="This call already has an open escalation.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=EscalationStatus.values), name="escalation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="escalation_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(caution_decision__in=CautionDecision.values),
                name="escalation_caution_decision_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | ~Q(resolution=""),
                name="escalation_resolved_has_resolution",
            ),
        ]

    def __str__(self):
        return f"Escalation of call {self.call_id} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        if self.business_id is None and self.call_id is not None:
            # The call's business (bulk loads set it themselves).
            call = self._meta.get_field("call").get_cached_value(self, None)
            self.business_id = (
                call.business_id
                if call is not None
                else Call.objects.values_list("business_id", flat=True).get(pk=self.call_id)
            )
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("escalations:detail", args=[self.pk])

    def fetch_people(self) -> None:
        """Read the people this escalation's page names (who took the call, who raised,
        acknowledged, was assigned and resolved it) in one query, as select_related would
        have. Joined to the escalation, the eight tables took PostgreSQL 2.6 ms to plan,
        for a row it reads in 0.2 ms."""
        fetch_people(
            [
                (self.call, "taken_by"),
                (self, "raised_by"),
                (self, "acknowledged_by"),
                (self, "assigned_to"),
                (self, "resolved_by"),
            ]
        )

    @property
    def is_overdue(self):
        return self.status == EscalationStatus.OPEN and self.ack_deadline < timezone.now()

    @property
    def is_open(self):
        return self.status == EscalationStatus.OPEN

    @property
    def is_resolved(self):
        return self.status == EscalationStatus.RESOLVED

    @property
    def is_critical(self):
        return self.severity == Severity.CRITICAL

    @property
    def is_high(self):
        return self.severity == Severity.HIGH

    @property
    def playbook_labels(self):
        labels = dict(PLAYBOOK)
        return [labels.get(key, key) for key in self.playbook_steps]
