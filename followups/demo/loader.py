"""Load demo callers, calls and callbacks in batches.

A million calls must load in under two minutes on PostgreSQL: callers, calls and callbacks
go in by COPY as plain rows, and a big load drops the secondary indexes first and builds
each once at the end (indexes_dropped).
Other databases (SQLite in the tests) take the same rows through bulk_create.
"""

import random
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from callers.models import Caller, CallerPhone
from calls.models import PLAYBOOK_KEYS, Call, Escalation, EscalationStatus, severity_for
from followups.demo.data import (
    AREA_CODES,
    CAUTION_NOTES,
    DEBRIEFS,
    DIFFICULT_MOOD_WEIGHTS,
    FIRST,
    LAST,
    MESSAGES,
    MOOD_WEIGHTS,
    NATURE_WEIGHTS,
    ORGANISATIONS,
    OUTCOME_BY_NATURE,
    REMEMBER,
    RESOLUTIONS,
    SUMMARIES,
    URGENCY_BY_NATURE,
)
from followups.demo.progress import Progress
from followups.models import (
    DEFAULT_POLICY_MINUTES,
    PRIORITY_FOR_URGENCY,
    AttemptResult,
    Callback,
    CallbackAttempt,
    CallbackStatus,
    KeptBy,
    PromiseKeeping,
)
from followups.services import hand_back_at, promise_words

# The columns of a call row, in the order call_rows yields them.
CALL_FIELDS = (
    "business_id",
    "caller_id",
    "phone",
    "started_at",
    "ended_at",
    "direction",
    "nature",
    "urgency",
    "mood",
    "summary",
    "wants",
    "promised",
    "notes",
    "outcome",
    "taken_by_id",
    "message",
    "message_status",
    "message_sent_at",
    "message_sent_to",
    "message_read_at",
)

# A message taken more than this long ago has mostly been read by the business.
READ_AFTER = timedelta(days=2)


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n").replace("\r", "")


@contextmanager
def indexes_dropped(big: bool, *, out):
    """On PostgreSQL, load big data sets without secondary indexes, then build them once.

    Building an index over a million rows is much faster than updating it a million
    times. Indexes that back a constraint stay. Runs inside the caller's transaction,
    so a failed load leaves every index in place.
    """
    if not big or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname IN ('callers_caller', 'callers_callerphone', 'calls_call')
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            """
        )
        indexes = cursor.fetchall()
        # Check foreign keys as rows arrive, not at commit: PostgreSQL cannot build
        # an index on a table with deferred checks still pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    progress = Progress(out, "indexes", len(indexes))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for done, (_, definition) in enumerate(indexes, start=1):
            cursor.execute(definition)
            progress.update(done)
    progress.finish()


def analyze():
    """Fresh statistics, or the planner guesses on a table it thinks is empty."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE callers_caller, callers_callerphone, calls_call, "
            "followups_callback, followups_callbackattempt, calls_escalation"
        )


CALLER_FIELDS = (
    "name",
    "organisation",
    "email",
    "things_to_remember",
    "is_vip",
    "caution",
    "caution_note",
)


def caller_values(rng, first: str, last: str) -> tuple:
    """One caller's values in CALLER_FIELDS order."""
    difficult = rng.random() < 0.03
    caution = difficult and rng.random() < 0.4
    organisation = rng.choice(ORGANISATIONS) if rng.random() < 0.3 else ""
    email = (
        f"{first}.{last}{rng.randint(1, 999)}@example.com".lower().replace("'", "")
        if rng.random() < 0.5
        else ""
    )
    remember = rng.choice(REMEMBER).format(first=first) if rng.random() < 0.25 else ""
    is_vip = rng.random() < 0.02
    note = rng.choice(CAUTION_NOTES) if caution else ""
    return (f"{first} {last}", organisation, email, remember, is_vip, caution, note)


def create_callers(rng, business, total, batch, *, out) -> list[tuple[int, str]]:
    """The callers with one number each, as (caller id, number) rows for create_calls."""
    progress = Progress(out, f"callers of {business.name}", total)
    rows: list[tuple[int, str]] = []
    done = 0
    while done < total:
        size = min(batch, total - done)
        values, numbers = [], []
        for _ in range(size):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            values.append(caller_values(rng, first, last))
            # Fictional numbers only (the 555 exchange, which is given to no subscriber):
            # demo data never holds a real-looking person's number. 8000-9999 in 212 are
            # the demo businesses' own lines and contacts (followups.demo.businesses).
            numbers.append(f"+1{rng.choice(AREA_CODES)}555{rng.randint(0, 7999):04d}")
        if connection.vendor == "postgresql":
            ids = copy_callers(business, values, numbers)
        else:
            ids = bulk_callers(business, values, numbers)
        # Difficult callers are marked by a negative sign here, to skew their moods.
        rows.extend(
            (pk if not (caller[5] or rng.random() < 0.02) else -pk, number)
            for pk, caller, number in zip(ids, values, numbers, strict=True)
        )
        done += size
        progress.update(done)
    progress.finish()
    return rows


def bulk_callers(business, values, numbers) -> list[int]:
    callers = Caller.objects.bulk_create(
        [Caller(business=business, **dict(zip(CALLER_FIELDS, row, strict=True))) for row in values]
    )
    CallerPhone.objects.bulk_create(
        [CallerPhone(caller=c, number=n) for c, n in zip(callers, numbers, strict=True)]
    )
    return [c.pk for c in callers]


def copy_callers(business, values, numbers) -> list[int]:
    """COPY, with ids taken from the table's sequence first (numbers need them). Plain
    rows, no model instances: building half a million of those took longer than COPY."""
    ids = next_ids("callers_caller", len(values))
    now = timezone.now()
    copy_rows(
        "callers_caller",
        ("id", "business_id", *CALLER_FIELDS, "created_at", "updated_at", "version"),
        ((pk, business.pk, *row, now, now, 1) for pk, row in zip(ids, values, strict=True)),
    )
    copy_rows(
        "callers_callerphone",
        ("caller_id", "number", "label", "created_at"),
        ((pk, number, "mobile", now) for pk, number in zip(ids, numbers, strict=True)),
    )
    return ids


def next_ids(table: str, count: int) -> list[int]:
    """`count` ids from the table's own sequence, as inserts would have taken them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return copy_escape(str(value))


def copy_rows(table: str, columns, rows) -> None:
    """COPY rows (tuples in `columns` order) into `table`: several times faster than INSERT.
    Demo data skips the audit trail, which records what people change, not a script."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write("\t".join(map(copy_value, row)) + "\n")


# One call in this many is from a withheld number.
WITHHELD_EVERY = 200


def call_rows(rng, business, caller_rows, staff, total, days):
    """Yield call rows as tuples in CALL_FIELDS order: plain values, ready for COPY."""
    now = timezone.now()
    span = days * 24 * 3600
    count = len(caller_rows)
    withhold = False
    # Who its messages were e-mailed to (seed_demo's businesses have their contacts).
    recipients = ", ".join(business.contacts.exclude(email="").values_list("email", flat=True))
    for index in range(total):
        # A few callers call often, most call rarely.
        caller_id, number = caller_rows[int(count * rng.random() ** 2.5)]
        difficult = caller_id < 0
        caller_id = abs(caller_id)
        nature = weighted(rng, NATURE_WEIGHTS)
        started = now - timedelta(seconds=rng.randrange(span))
        # Office hours, mostly: move night calls into the day.
        if started.hour < 8 or started.hour > 18:
            started = started.replace(hour=rng.randint(8, 17))
        if started > now:
            started -= timedelta(days=1)
        ended = started + timedelta(seconds=rng.randint(25, 900))
        mood = weighted(rng, DIFFICULT_MOOD_WEIGHTS if difficult else MOOD_WEIGHTS)
        outcome = weighted(rng, OUTCOME_BY_NATURE[nature])
        if mood == "abusive" and rng.random() < 0.5:
            outcome = "terminated_abusive"
        summary = rng.choice(SUMMARIES[nature])
        # One call in WITHHELD_EVERY comes from a withheld number (never one promised a
        # callback here: the demo's callbacks dial the number the call came from).
        withhold = withhold or index % WITHHELD_EVERY == 0
        if withhold and outcome != "callback_scheduled":
            number, withhold = "", False
        wants = "A call back today" if outcome == "callback_scheduled" else ""
        promised = "We'll call back before 5 pm" if outcome == "callback_scheduled" else ""
        notes = (
            "Caller raised their voice; stayed calm and offered a manager."
            if mood in {"angry", "abusive"}
            else ""
        )
        message, status, sent_at, read_at = "", "", None, None
        if outcome == "message_taken":
            message = rng.choice(MESSAGES)
            status, sent_at = ("sent", ended) if recipients else ("no_contacts", None)
            if now - started > READ_AFTER and rng.random() < 0.9:
                read_at = ended + timedelta(minutes=rng.randint(5, 24 * 60))
        yield (
            business.pk,
            caller_id,
            number,
            started,
            ended,
            "inbound",
            nature,
            weighted(rng, URGENCY_BY_NATURE[nature]),
            mood,
            summary,
            wants,
            promised,
            notes,
            outcome,
            rng.choice(staff).pk,
            message,
            status,
            sent_at,
            recipients if sent_at else "",
            read_at,
        )


def create_calls(rng, business, caller_rows, staff, total, days, batch, *, out):
    if total == 0:
        return
    progress = Progress(out, f"calls of {business.name}", total)
    rows = call_rows(rng, business, caller_rows, staff, total, days)
    done = 0
    while done < total:
        size = min(batch, total - done)
        chunk = [next(rows) for _ in range(size)]
        if connection.vendor == "postgresql":
            copy_calls(chunk)
        else:
            bulk_calls(chunk)
        done += size
        progress.update(done)
    progress.finish()


def bulk_calls(chunk):
    Call.objects.bulk_create([Call(**dict(zip(CALL_FIELDS, row, strict=True))) for row in chunk])


def copy_calls(chunk):
    now = timezone.now()
    copy_rows(
        "calls_call",
        (*CALL_FIELDS, "created_at", "updated_at", "version"),
        ((*row, now, now, 1) for row in chunk),
    )


# Promises left open per business in the demo besides the last day's.
OPEN_PER_BUSINESS = 12


def create_callbacks(rng, staff, batch, *, out) -> int:
    """A callback for each call that promised one: those of the last day still open
    (some overdue, some at risk, some later), the older ones kept, with their attempt."""
    now = timezone.now()
    promised = (
        Call.objects.filter(outcome="callback_scheduled", callbacks__isnull=True)
        .order_by()
        .values_list("pk", "business_id", "caller_id", "started_at", "summary", "nature", "urgency")
    )
    total = promised.count()
    if total == 0:
        return 0
    # Every business's newest promises are still open, whenever the demo is loaded (early
    # in the morning, the last day alone may have promised nothing yet).
    newest = set()
    for business_id in set(promised.values_list("business_id", flat=True).distinct()):
        newest.update(
            promised.filter(business_id=business_id)
            .order_by("-started_at")
            .values_list("pk", flat=True)[:OPEN_PER_BUSINESS]
        )
    kept_by_promiser = set(
        PromiseKeeping.objects.filter(kept_by=KeptBy.PROMISER).values_list("business_id", flat=True)
    )
    progress = Progress(out, "callbacks", total)
    done = 0
    rows = promised.iterator(chunk_size=batch)
    save = copy_callbacks if connection.vendor == "postgresql" else bulk_callbacks
    while done < total:
        chunk = [row for _, row in zip(range(batch), rows, strict=False)]
        if not chunk:
            break
        values = [callback_for(rng, staff, now, *row, keep_open=row[0] in newest) for row in chunk]
        for callback in values:
            if callback["business_id"] in kept_by_promiser:
                keep_by_promiser(callback, now)
        save(values, now)
        done += len(chunk)
        progress.update(done)
    progress.finish()
    return done


def bulk_callbacks(values: list[dict], now) -> None:
    callbacks = Callback.objects.bulk_create([Callback(**row) for row in values])
    # bulk_create stamps created_at with now (auto_now_add): the time of the promise instead.
    Callback.objects.filter(pk__in=[c.pk for c in callbacks]).update(
        created_at=Subquery(Call.objects.filter(pk=OuterRef("call_id")).values("started_at")[:1])
    )
    CallbackAttempt.objects.bulk_create(
        [
            CallbackAttempt(
                callback=c,
                attempted_at=c.closed_at,
                attempted_by_id=c.closed_by_id,
                result=AttemptResult.REACHED,
                note="",
            )
            for c in callbacks
            if c.status == CallbackStatus.DONE
        ]
    )


CALLBACK_COLUMNS = (
    "business_id",
    "call_id",
    "caller_id",
    "reason",
    "promise",
    "preferred_window",
    "due_at",
    "promised_due_at",
    "priority",
    "assigned_to_id",
    "status",
    "returns_to_team_at",
    "claimed_by_id",
    "claimed_at",
    "attempt_count",
    "last_attempt_at",
    "outcome",
    "closed_by_id",
    "closed_at",
    "created_by_id",
)


def copy_callbacks(values: list[dict], now) -> None:
    ids = next_ids("followups_callback", len(values))
    copy_rows(
        "followups_callback",
        ("id", *CALLBACK_COLUMNS, "created_at", "updated_at", "version"),
        (
            (pk, *(row.get(name) for name in CALLBACK_COLUMNS), row["created_at"], now, 1)
            for pk, row in zip(ids, values, strict=True)
        ),
    )
    copy_rows(
        "followups_callbackattempt",
        ("callback_id", "attempted_at", "attempted_by_id", "result", "note"),
        (
            (pk, row["closed_at"], row["closed_by_id"], AttemptResult.REACHED, "")
            for pk, row in zip(ids, values, strict=True)
            if row["status"] == CallbackStatus.DONE
        ),
    )


def keep_by_promiser(callback: dict, now) -> None:
    """An open callback at a business whose promisers keep their promises: assigned to
    whoever promised it until it comes at risk, the team's after that (as the sweep does)."""
    if callback["status"] != CallbackStatus.OPEN or callback.get("assigned_to_id"):
        return
    hand_back = hand_back_at(callback["due_at"], now)
    if hand_back > now:
        callback["assigned_to_id"] = callback["created_by_id"]
        callback["returns_to_team_at"] = hand_back


def callback_for(
    rng,
    staff,
    now,
    call_id,
    business_id,
    caller_id,
    started,
    summary,
    nature,
    urgency,
    *,
    keep_open=False,
) -> dict:
    """One callback's values, by the column names of CALLBACK_COLUMNS."""
    minutes = DEFAULT_POLICY_MINUTES[nature][urgency]
    due = started + timedelta(minutes=minutes)
    callback = {
        "business_id": business_id,
        "call_id": call_id,
        "caller_id": caller_id,
        "reason": summary,
        "promise": promise_words(due, started),
        "preferred_window": "after 5 pm" if rng.random() < 0.1 else "",
        "due_at": due,
        "priority": PRIORITY_FOR_URGENCY[urgency],
        "created_by_id": rng.choice(staff).pk,
        "status": CallbackStatus.OPEN,
        "attempt_count": 0,
        "outcome": "",
        # Promised during the call (the portal's month summary counts them by it).
        "created_at": started,
    }
    if keep_open or started > now - timedelta(days=1):
        # Still open: spread around now so every queue view has something in it.
        callback["due_at"] = max(
            now + timedelta(minutes=rng.randint(-180, 360)), started + timedelta(minutes=5)
        )
        callback["promise"] = promise_words(callback["due_at"], started)
        if rng.random() < 0.15:
            callback["status"] = CallbackStatus.CLAIMED
            callback["claimed_by_id"] = rng.choice(staff).pk
            callback["claimed_at"] = now - timedelta(minutes=rng.randint(0, 20))
        elif rng.random() < 0.2:
            callback["assigned_to_id"] = rng.choice(staff).pk
    else:
        closed = due - timedelta(minutes=rng.randint(0, min(minutes, 120)))
        callback["status"] = CallbackStatus.DONE
        callback["outcome"] = "Reached the caller; " + rng.choice(
            ["booked an appointment.", "answered their question.", "sent the quote."]
        )
        callback["closed_by_id"] = rng.choice(staff).pk
        callback["closed_at"] = closed
        callback["attempt_count"] = 1
        callback["last_attempt_at"] = closed
    callback["promised_due_at"] = callback["due_at"]
    return callback


# Escalations left unresolved per business in the demo; older ones are resolved.
UNRESOLVED_PER_BUSINESS = 6


def create_escalations(rng, staff, managers, batch, *, out) -> int:
    """An escalation for every abusive call and for one angry call in five: each business's
    newest ones still waiting for a manager (open or acknowledged), the rest resolved, most
    with a debrief. A business's newest difficult call is always escalated, so that each
    business with one has escalations waiting (a small one may have no abusive call)."""
    if not managers:
        return 0
    candidates = (
        Call.objects.filter(mood__in=["abusive", "angry"], escalations__isnull=True)
        # Newest raised first: an escalation is raised as its call ends.
        .order_by("-ended_at", "-pk")
        .values_list("pk", "business_id", "ended_at", "mood", "urgency", "summary", "taken_by_id")
    )
    total = candidates.count()
    if total == 0:
        return 0
    progress = Progress(out, "escalations", total)
    unresolved_left = {}
    made = done = 0
    chunk = []
    for call_id, business_id, ended, mood, urgency, summary, taken_by_id in candidates.iterator(
        chunk_size=batch
    ):
        done += 1
        first_of_business = business_id not in unresolved_left
        if mood == "angry" and rng.random() >= 0.2 and not first_of_business:
            continue
        left = unresolved_left.setdefault(business_id, UNRESOLVED_PER_BUSINESS)
        unresolved_left[business_id] = left - 1
        chunk.append(
            escalation_for(
                rng, managers, call_id, ended, mood, urgency, summary, taken_by_id, left > 0
            )
        )
        chunk[-1].business_id = business_id  # bulk_create does not call save()
        if len(chunk) >= batch:
            Escalation.objects.bulk_create(chunk, batch_size=2000)
            made += len(chunk)
            chunk = []
            progress.update(done)
    Escalation.objects.bulk_create(chunk, batch_size=2000)
    made += len(chunk)
    progress.update(total)
    progress.finish()
    return made


def escalation_for(rng, managers, call_id, ended, mood, urgency, summary, taken_by_id, waiting):
    """One escalation, raised as the call ended; `waiting`: not resolved yet."""
    minutes = 5 if mood == "abusive" else 15
    escalation = Escalation(
        call_id=call_id,
        raised_by_id=taken_by_id,
        raised_at=ended,
        reason=f"{mood.capitalize()} caller: {summary}",
        severity=severity_for(mood, urgency),
        playbook_steps=sorted(
            rng.sample(PLAYBOOK_KEYS, rng.randint(2, 5)), key=PLAYBOOK_KEYS.index
        ),
        ack_deadline=ended + timedelta(minutes=minutes),
    )
    if waiting and rng.random() < 0.5:
        return escalation  # open
    manager = rng.choice(managers)
    escalation.status = EscalationStatus.ACKNOWLEDGED
    escalation.acknowledged_by_id = escalation.assigned_to_id = manager.pk
    escalation.acknowledged_at = ended + timedelta(minutes=rng.randint(1, minutes * 2))
    if waiting:
        return escalation
    escalation.status = EscalationStatus.RESOLVED
    escalation.resolved_by_id = manager.pk
    escalation.resolved_at = escalation.acknowledged_at + timedelta(minutes=rng.randint(5, 240))
    escalation.resolution = rng.choice(RESOLUTIONS)
    escalation.debrief = rng.choice(DEBRIEFS)
    return escalation
