"""Load realistic demo data: staff, callers with numbers, calls spread over months, and the
callbacks those calls promised.

It lives in followups, the app at the top of the dependency chain, because it loads all three.
"""

import io
import random
import secrets
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from callers.models import Business, Caller, CallerPhone
from calls.models import Call
from followups.models import (
    DEFAULT_POLICY_MINUTES,
    PRIORITY_FOR_URGENCY,
    AttemptResult,
    Callback,
    CallbackAttempt,
    CallbackStatus,
)
from followups.services import promise_words
from receptionist.roles import MANAGERS, RECEPTIONISTS, ensure_groups

FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Oliver",
    "Sophia",
    "Elijah",
    "Isabella",
    "James",
    "Mia",
    "William",
    "Amelia",
    "Benjamin",
    "Harper",
    "Lucas",
    "Evelyn",
    "Henry",
    "Abigail",
    "Theodore",
    "Emily",
    "Jack",
    "Ella",
    "Levi",
    "Elizabeth",
    "Alexander",
    "Camila",
    "Jackson",
    "Luna",
    "Mateo",
    "Sofia",
    "Daniel",
    "Avery",
    "Michael",
    "Mila",
    "Mason",
    "Aria",
    "Sebastian",
    "Scarlett",
    "Ethan",
    "Penelope",
    "Logan",
    "Layla",
    "Owen",
    "Chloe",
    "Samuel",
    "Victoria",
    "Jacob",
    "Madison",
    "Asher",
    "Eleanor",
    "Aiden",
    "Grace",
    "John",
    "Nora",
    "Joseph",
    "Riley",
    "Wyatt",
    "Zoey",
    "David",
    "Hannah",
    "Leo",
    "Hazel",
    "Priya",
    "Wei",
    "Fatima",
    "Omar",
    "Yuki",
    "Mateus",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Patel",
    "Chen",
    "Kim",
    "O'Brien",
    "Murphy",
    "Kowalski",
    "Rossi",
    "Dubois",
    "Schmidt",
    "Okafor",
    "Haddad",
    "Tanaka",
    "Silva",
    "Novak",
    "Larsen",
]
ORGANISATIONS = [
    "Acme Supplies",
    "Riverside Dental",
    "Northwind Traders",
    "Blue Harbor Insurance",
    "City Council",
    "Green Valley School",
    "Summit Realty",
    "Lakeside Pharmacy",
    "Metro Couriers",
    "Oak & Pine Law",
    "Sunrise Bakery",
    "Hilltop Vets",
    "Brightside Labs",
    "Harbor Freight Co.",
    "Maple Street Clinic",
]
AREA_CODES = [212, 646, 718, 917, 312, 415, 617, 303, 503, 206, 404, 512, 702, 305, 614]
REMEMBER = [
    "Prefers to be called {first}, not by surname.",
    "Hard of hearing: speak slowly and clearly.",
    "Dog is called Biscuit (12-year-old beagle).",
    "Only available after 4 pm on weekdays.",
    "Daughter {first} sometimes calls on their behalf.",
    "Anxious about needles; mention numbing cream.",
    "Pays by invoice through the company account.",
    "Prefers text messages to voicemail.",
    "Recently bereaved: be gentle.",
    "Speaks Spanish at home; English is fine on the phone.",
]
CAUTION_NOTES = [
    "Has been verbally abusive twice. Stay calm, do not argue, hand over to a manager early.",
    "Disputes every invoice. Do not discuss billing: take a message for the practice manager.",
    "Becomes angry when kept on hold. Offer a callback time instead of holding.",
]
SUMMARIES = {
    "sales": [
        "Asked for a quote on the annual plan",
        "Wants to know about group discounts",
        "Interested in the new service package",
        "Asked for pricing on a bulk order",
        "Supplier offering a new product line",
    ],
    "appointment": [
        "Book a check-up next week",
        "Reschedule Thursday's appointment",
        "Question about opening hours on the holiday",
        "Asked whether test results are in",
        "Cancel tomorrow's appointment",
        "Question about an invoice",
        "Repeat prescription request",
        "Asked for directions and parking",
    ],
    "urgent": [
        "Severe pain since this morning, needs to be seen today",
        "Dog ate chocolate, owner worried",
        "Water leak in the office, needs someone now",
        "Reaction to new medication",
        "Locked out of the account before a deadline",
    ],
    "other": [
        "Wrong department, redirected",
        "Courier asking for the delivery entrance",
        "Survey call",
        "Returning a missed call, no message left",
        "Asked for the fax number",
    ],
}
NATURE_WEIGHTS = [("appointment", 55), ("sales", 15), ("urgent", 10), ("other", 20)]
URGENCY_BY_NATURE = {
    "sales": [("low", 60), ("normal", 38), ("high", 2)],
    "appointment": [("low", 25), ("normal", 65), ("high", 10)],
    "urgent": [("normal", 10), ("high", 65), ("emergency", 25)],
    "other": [("low", 70), ("normal", 30)],
}
OUTCOME_BY_NATURE = {
    "sales": [
        ("message_taken", 45),
        ("transferred", 30),
        ("callback_scheduled", 20),
        ("resolved", 5),
    ],
    "appointment": [
        ("resolved", 60),
        ("callback_scheduled", 20),
        ("message_taken", 15),
        ("transferred", 5),
    ],
    "urgent": [
        ("transferred", 55),
        ("resolved", 20),
        ("callback_scheduled", 20),
        ("message_taken", 5),
    ],
    "other": [("resolved", 50), ("wrong_number", 30), ("message_taken", 20)],
}


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n").replace("\r", "")


class Progress:
    """A one-line progress display (one line per 10% when not on a terminal)."""

    def __init__(self, stream, label: str, total: int):
        self.stream, self.label, self.total = stream, label, total
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last_decile = -1

    def update(self, done: int):
        elapsed = time.monotonic() - self.started
        percent = 100 * done // max(self.total, 1)
        line = f"{self.label}: {done:,}/{self.total:,} ({percent}%) {elapsed:.1f}s"
        if self.tty:
            self.stream.write("\r" + line)
            self.stream.flush()
        elif percent // 10 != self.last_decile or done == self.total:
            self.last_decile = percent // 10
            self.stream.write(line + "\n")

    def finish(self):
        if self.tty:
            self.stream.write("\n")


class Command(BaseCommand):
    help = "Load demo data: staff, callers and calls (e.g. --calls 1000000 for a benchmark)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--calls", type=int, default=3000, help="How many calls (default 3000)."
        )
        parser.add_argument(
            "--callers",
            type=int,
            default=None,
            help="How many callers (default: calls / 10, at least 50).",
        )
        parser.add_argument(
            "--days", type=int, default=180, help="Spread calls over this many days."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when there are calls already."
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed for repeatable data."
        )
        parser.add_argument("--batch", type=int, default=20000, help="Rows per insert.")

    def handle(self, *args, calls, callers, days, if_empty, seed, batch, **options):
        if calls < 0 or (callers is not None and callers < 1) or days < 1 or batch < 1:
            raise CommandError("--calls must be >= 0, --callers, --days and --batch >= 1.")
        if if_empty and Call.objects.exists():
            staff = self.ensure_staff()
            if Callback.objects.exists():
                self.stdout.write("Demo data already loaded: nothing to do.")
            else:
                # Demo data loaded before callbacks existed: add the callbacks its calls promised.
                with transaction.atomic():
                    added = self.create_callbacks(random.Random(seed), staff, batch)
                self.stdout.write(f"Demo data already loaded; added {added:,} callbacks.")
            return
        callers = callers or max(50, calls // 10)
        rng = random.Random(seed)
        started = time.monotonic()
        staff = self.ensure_staff()
        business = Business.objects.default()
        with transaction.atomic(), self.indexes_dropped(calls + callers >= 50_000):
            caller_rows = self.create_callers(rng, business, callers, batch)
            self.create_calls(rng, business, caller_rows, staff, calls, days, batch)
        with transaction.atomic():
            callbacks = self.create_callbacks(rng, staff, batch)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Fresh statistics, or the planner guesses on a table it thinks is empty.
                cursor.execute(
                    "ANALYZE callers_caller, callers_callerphone, calls_call, "
                    "followups_callback, followups_callbackattempt"
                )
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {callers:,} callers, {calls:,} calls and {callbacks:,} callbacks "
                f"in {elapsed:.1f}s."
            )
        )

    def ensure_staff(self) -> list:
        """The demo users. Their passwords are printed only when DEBUG is on."""
        User = get_user_model()
        people = [
            ("reception", "Rita", "Reception", RECEPTIONISTS, True),
            ("manager", "Maya", "Manager", MANAGERS, True),
            ("jordan", "Jordan", "Lee", RECEPTIONISTS, False),
            ("sam", "Sam", "Okafor", RECEPTIONISTS, False),
        ]
        groups = ensure_groups()
        staff = []
        for username, first, last, group, login in people:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            user.groups.add(groups[group])
            if group == MANAGERS and not user.is_staff:
                user.is_staff = True  # managers edit the callback policy in the admin
                user.save(update_fields=["is_staff"])
            if login and settings.DEBUG:
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"Demo login: {username} / {password}  ({group[:-1].lower()})")
            elif created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            staff.append(user)
        if not settings.DEBUG:
            self.stdout.write(
                "DEBUG is off: demo users have no password (set one with changepassword)."
            )
        return staff

    @contextmanager
    def indexes_dropped(self, big: bool):
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
        progress = Progress(self.stdout, "indexes", len(indexes))
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for done, (_, definition) in enumerate(indexes, start=1):
                cursor.execute(definition)
                progress.update(done)
        progress.finish()

    def create_callers(self, rng, business, total, batch) -> list[tuple[int, str]]:
        progress = Progress(self.stdout, "callers", total)
        rows: list[tuple[int, str]] = []
        done = 0
        while done < total:
            size = min(batch, total - done)
            objs, numbers = [], []
            for _ in range(size):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                difficult = rng.random() < 0.03
                caution = difficult and rng.random() < 0.4
                objs.append(
                    Caller(
                        business=business,
                        name=f"{first} {last}",
                        organisation=rng.choice(ORGANISATIONS) if rng.random() < 0.3 else "",
                        email=f"{first}.{last}{rng.randint(1, 999)}@example.com".lower().replace(
                            "'", ""
                        )
                        if rng.random() < 0.5
                        else "",
                        things_to_remember=rng.choice(REMEMBER).format(first=first)
                        if rng.random() < 0.25
                        else "",
                        is_vip=rng.random() < 0.02,
                        caution=caution,
                        caution_note=rng.choice(CAUTION_NOTES) if caution else "",
                    )
                )
                numbers.append(
                    f"+1{rng.choice(AREA_CODES)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
                )
            Caller.objects.bulk_create(objs, batch_size=batch)
            CallerPhone.objects.bulk_create(
                [CallerPhone(caller=c, number=n) for c, n in zip(objs, numbers, strict=True)],
                batch_size=batch,
            )
            # Difficult callers are marked by a negative sign here, to skew their moods.
            rows.extend(
                (c.pk if not (c.caution or rng.random() < 0.02) else -c.pk, n)
                for c, n in zip(objs, numbers, strict=True)
            )
            done += size
            progress.update(done)
        progress.finish()
        return rows

    def call_rows(self, rng, business, caller_rows, staff, total, days):
        now = timezone.now()
        span = days * 24 * 3600
        count = len(caller_rows)
        for _ in range(total):
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
            if difficult:
                mood = weighted(rng, [("upset", 30), ("angry", 45), ("abusive", 25)])
            else:
                mood = weighted(rng, [("calm", 88), ("upset", 9), ("angry", 2.7), ("abusive", 0.3)])
            outcome = weighted(rng, OUTCOME_BY_NATURE[nature])
            if mood == "abusive" and rng.random() < 0.5:
                outcome = "terminated_abusive"
            summary = rng.choice(SUMMARIES[nature])
            wants = "A call back today" if outcome == "callback_scheduled" else ""
            promised = "We'll call back before 5 pm" if outcome == "callback_scheduled" else ""
            notes = (
                "Caller raised their voice; stayed calm and offered a manager."
                if mood in {"angry", "abusive"}
                else ""
            )
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
            )

    def create_calls(self, rng, business, caller_rows, staff, total, days, batch):
        if total == 0:
            return
        progress = Progress(self.stdout, "calls", total)
        rows = self.call_rows(rng, business, caller_rows, staff, total, days)
        done = 0
        while done < total:
            size = min(batch, total - done)
            chunk = [next(rows) for _ in range(size)]
            if connection.vendor == "postgresql":
                self.copy_calls(chunk)
            else:
                self.bulk_calls(chunk)
            done += size
            progress.update(done)
        progress.finish()

    FIELDS = (
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
    )

    def bulk_calls(self, chunk):
        Call.objects.bulk_create(
            [Call(**dict(zip(self.FIELDS, row, strict=True))) for row in chunk]
        )

    def copy_calls(self, chunk):
        # COPY is several times faster than INSERT for a million rows; demo data skips
        # the audit trail, which records what people change, not what a script loads.
        now = timezone.now().isoformat()
        buffer = io.StringIO()
        for row in chunk:
            values = [
                v.isoformat() if hasattr(v, "isoformat") else copy_escape(str(v)) for v in row
            ]
            buffer.write("\t".join([*values, now, now, "1"]) + "\n")
        buffer.seek(0)
        columns = ", ".join([*self.FIELDS, "created_at", "updated_at", "version"])
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY calls_call ({columns}) FROM STDIN", buffer)

    def create_callbacks(self, rng, staff, batch) -> int:
        """A callback for each call that promised one: those of the last day still open
        (some overdue, some at risk, some later), the older ones kept, with their attempt."""
        now = timezone.now()
        promised = (
            Call.objects.filter(outcome="callback_scheduled", callbacks__isnull=True)
            .order_by()
            .values_list(
                "pk", "business_id", "caller_id", "started_at", "summary", "nature", "urgency"
            )
        )
        total = promised.count()
        if total == 0:
            return 0
        progress = Progress(self.stdout, "callbacks", total)
        done = 0
        rows = promised.iterator(chunk_size=batch)
        while done < total:
            chunk = [row for _, row in zip(range(batch), rows, strict=False)]
            if not chunk:
                break
            callbacks = [self.callback_for(rng, staff, now, *row) for row in chunk]
            Callback.objects.bulk_create(callbacks, batch_size=batch)
            CallbackAttempt.objects.bulk_create(
                [
                    CallbackAttempt(
                        callback=c,
                        attempted_at=c.closed_at,
                        attempted_by=c.closed_by,
                        result=AttemptResult.REACHED,
                        note="",
                    )
                    for c in callbacks
                    if c.status == CallbackStatus.DONE
                ],
                batch_size=batch,
            )
            done += len(chunk)
            progress.update(done)
        progress.finish()
        return done

    def callback_for(
        self, rng, staff, now, call_id, business_id, caller_id, started, summary, nature, urgency
    ) -> Callback:
        minutes = DEFAULT_POLICY_MINUTES[nature][urgency]
        due = started + timedelta(minutes=minutes)
        callback = Callback(
            business_id=business_id,
            call_id=call_id,
            caller_id=caller_id,
            reason=summary,
            promise=promise_words(due, started),
            preferred_window="after 5 pm" if rng.random() < 0.1 else "",
            due_at=due,
            priority=PRIORITY_FOR_URGENCY[urgency],
            created_by=rng.choice(staff),
        )
        if started > now - timedelta(days=1):
            # Still open: spread around now so every queue view has something in it.
            callback.due_at = max(
                now + timedelta(minutes=rng.randint(-180, 360)), started + timedelta(minutes=5)
            )
            callback.promise = promise_words(callback.due_at, started)
            if rng.random() < 0.15:
                callback.status = CallbackStatus.CLAIMED
                callback.claimed_by = rng.choice(staff)
                callback.claimed_at = now - timedelta(minutes=rng.randint(0, 20))
            elif rng.random() < 0.2:
                callback.assigned_to = rng.choice(staff)
        else:
            closed = due - timedelta(minutes=rng.randint(0, min(minutes, 120)))
            callback.status = CallbackStatus.DONE
            callback.outcome = "Reached the caller; " + rng.choice(
                ["booked an appointment.", "answered their question.", "sent the quote."]
            )
            callback.closed_by = rng.choice(staff)
            callback.closed_at = closed
            callback.attempt_count = 1
            callback.last_attempt_at = closed
        return callback
