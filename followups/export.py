"""CSV exports (Managers): the filtered call log, the callbacks, the minutes report.

Streamed: rows are read from the database CHUNK at a time (keyset_rows) and written as
they come, so that a million-row export holds a chunk in memory, never the file. Each
cell that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
carriage return) is written with a leading apostrophe (OWASP's advice on CSV injection).
Every export is recorded
(followups.models.Export): who, when, what and with which filter.
"""

import csv
import re
from datetime import datetime

from django.contrib.auth.decorators import permission_required
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from calls.forms import CallFilter
from calls.models import Call, Mood, Nature, Outcome, Urgency
from followups.models import Callback, CallbackStatus, Export

CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed number or a number in E.164 (+16175550147) runs no function in a spreadsheet:
# written as it is, so that the Number column stays a number to dial or import.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


class Echo:
    """A file whose write() hands back what it was given (csv.writer into a stream)."""

    def write(self, value):
        return value


def safe_cell(value) -> str:
    """A cell as text, never a formula a spreadsheet would run."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    text = value.as_e164 if hasattr(value, "as_e164") else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def audit_export(request, what: str) -> Export:
    return Export.objects.create(
        person=request.user, what=what[:200], filter=request.META.get("QUERY_STRING", "")[:4000]
    )


def stream_csv(header, rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(Echo())

    def lines():
        yield "\ufeff"  # a byte-order mark: spreadsheets then read the file as UTF-8
        yield writer.writerow([safe_cell(cell) for cell in header])
        for row in rows:
            yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def keyset_rows(queryset, key: str, columns):
    """`columns` of the rows, newest `key` first, CHUNK rows per query: each query starts
    after the last row of the one before (a keyset walk on the key's index). Constant
    memory on every database, without a server-side cursor (which the settings disable,
    for a transaction pooler's sake) or a long-open transaction."""
    after = None
    while True:
        page = queryset
        if after is not None:
            moment, pk = after
            # "key <= moment" first, for the index to start there: with the OR alone
            # PostgreSQL read the log from its newest call for every chunk.
            page = page.filter(
                Q(**{f"{key}__lte": moment}) & (Q(**{f"{key}__lt": moment}) | Q(pk__lt=pk))
            )
        rows = list(page.order_by(f"-{key}", "-pk").values_list(key, "pk", *columns)[:CHUNK])
        for row in rows:
            yield row[2:]
        if len(rows) < CHUNK:
            return
        after = rows[-1][:2]


def _person(first, last, username) -> str:
    return f"{first} {last}".strip() or username or ""


CALL_HEADER = (
    "Started",
    "Ended",
    "Business",
    "Caller",
    "Number",
    "Nature",
    "Urgency",
    "Mood",
    "Summary",
    "What the caller wants",
    "What was promised",
    "Message for the business",
    "Internal notes",
    "Outcome",
    "Taken by",
)
CALL_COLUMNS = (
    "started_at",
    "ended_at",
    "business__name",
    "caller__name",
    "phone",
    "nature",
    "urgency",
    "mood",
    "summary",
    "wants",
    "promised",
    "message",
    "notes",
    "outcome",
    "taken_by__first_name",
    "taken_by__last_name",
    "taken_by__username",
)


def call_rows(calls):
    natures, urgencies, moods, outcomes = (
        dict(choices.choices) for choices in (Nature, Urgency, Mood, Outcome)
    )
    for row in keyset_rows(calls, "started_at", CALL_COLUMNS):
        (started, ended, business, caller, phone, nature, urgency, mood, *texts) = row[:12]
        notes, outcome, first, last, username = row[12:]
        yield (
            started,
            ended,
            business,
            caller,
            phone,
            natures.get(nature, nature),
            urgencies.get(urgency, urgency),
            moods.get(mood, mood),
            *texts,
            notes,
            outcomes.get(outcome, outcome),
            _person(first, last, username),
        )


@require_GET
@permission_required("followups.export_data", raise_exception=True)
def calls_csv(request):
    """The call log as the person filtered it (same filters and search), newest first."""
    calls = CallFilter(request.GET, queryset=Call.objects.for_user(request.user), request=request)
    if not calls.is_valid():
        from django.core.exceptions import BadRequest

        errors = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in calls.errors.items()
        )
        raise BadRequest(f"The filter cannot be read ({errors}): fix it on the call log first.")
    found = calls.qs
    audit_export(request, "call log")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return stream_csv(CALL_HEADER, call_rows(found), f"calls-{stamp}.csv")


CALLBACK_HEADER = (
    "Promised",
    "Due",
    "Due as promised",
    "Business",
    "Caller",
    "Reason",
    "Promise",
    "Status",
    "Attempts",
    "Closed",
    "Outcome",
)


@require_GET
@permission_required("followups.export_data", raise_exception=True)
def callbacks_csv(request):
    """The callbacks of the businesses the person works for: open ones (?status=open, the
    default), or done, cancelled or all of them."""
    from django.core.exceptions import BadRequest

    status = request.GET.get("status", "open")
    callbacks = Callback.objects.for_user(request.user)
    if status == "open":
        callbacks = callbacks.active()
    elif status in (CallbackStatus.DONE, CallbackStatus.CANCELLED):
        callbacks = callbacks.filter(status=status)
    elif status != "all":
        raise BadRequest("status is open, done, cancelled or all.")
    statuses = dict(CallbackStatus.choices)
    audit_export(request, f"callbacks ({status})")

    def rows():
        for row in keyset_rows(
            callbacks,
            "created_at",
            (
                "created_at",
                "due_at",
                "promised_due_at",
                "business__name",
                "caller__name",
                "reason",
                "promise",
                "status",
                "attempt_count",
                "closed_at",
                "outcome",
            ),
        ):
            row = list(row)
            row[7] = statuses.get(row[7], row[7])
            yield row

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return stream_csv(CALLBACK_HEADER, rows(), f"callbacks-{stamp}.csv")
