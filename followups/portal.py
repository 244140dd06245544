"""The client portal (/portal/): what an answering service did for one client business.

A person at the business (the group Clients, with calls.read_messages) sees the calls
taken for it with the message for it (never the receptionists' internal notes, the
caller's mood or who took the call), its callbacks, the escalations about its callers
(status and resolution, never the debrief) and a month summary; an urgent message's
delivery log, with a Confirm button while nobody has confirmed it (followups.deliveries).
Everything is of their one business (BusinessQuerySet.of_client) and in its time zone;
every staff page answers them 403 (they hold none of the staff's permissions), anything of
another business 404.

Its lists are each model's for_user (a client's one business), as every page's are; the
month summary's counts, compiled once, are of that one business's id.

It lives in followups, the app that sees calls and callbacks both: the portal shows both.
"""

import functools
import re
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import CharField, Count, ExpressionWrapper, F, Q
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from callers.models import Business
from calls.models import Call, Escalation, Nature, Outcome, Urgency
from calls.services import message_mark_read
from followups.deliveries import DeliveryAlreadyConfirmed, DeliveryWithdrawn, delivery_confirm
from followups.models import ACTIVE, KEPT_ON_TIME, Callback, CallbackStatus, MessageDelivery
from receptionist.pagination import keyset_paginate, query_with
from receptionist.rendering import render
from receptionist.roles import PERSON_COLUMNS
from receptionist.statements import Statement

PAGE_SIZE = 25
NOT_A_CLIENT = (
    "The portal shows one business's calls, and this account belongs to none: ask the "
    "answering service to link it to your business."
)
# What a call of the portal reads: nothing the business is not to see (notes, mood, who
# took it), and nothing a row does not show.
CALL_COLUMNS = (
    "business_id",
    "started_at",
    "nature",
    "urgency",
    "summary",
    "wants",
    "promised",
    "message",
    "outcome",
    "message_read_at",
    "caller__name",
)
# The number a call came from as stored (E.164 text): the |phone filter reads it without
# parsing a PhoneNumber per row (a tenth of the list's time).
AS_TEXT = ExpressionWrapper(F("phone"), output_field=CharField())
CALL_VIEWS = {
    "all": "All calls",
    "messages": "Messages",
    "unread": "Unread",
}
CALLBACK_VIEWS = {"open": "Open", "kept": "Kept"}


def client_page(view):
    """A portal page: for clients only (403 to everyone else), given their business."""

    @functools.wraps(view)
    @permission_required("calls.read_messages", raise_exception=True)
    def page(request, *args, **kwargs):
        business = Business.objects.of_client(request.user)
        if business is None:
            raise PermissionDenied(NOT_A_CLIENT)
        with timezone.override(business.zone):
            return view(request, business, *args, **kwargs)

    return page


def _tabs(request, views: dict) -> list[tuple[str, str, str]]:
    """(key, label, query string) of each of a page's views, from its first page."""
    return [
        (key, label, query_with(request.GET, view=key, cursor=None)) for key, label in views.items()
    ]


def _view_of(request, views: dict, default: str) -> str:
    view = request.GET.get("view", default)
    return view if view in views else default


@client_page
def messages_list(request, business):
    """The calls taken for the business, newest first, with the message of each."""
    view = _view_of(request, CALL_VIEWS, "all")
    calls = (
        Call.objects.for_user(request.user)
        .only(*CALL_COLUMNS)
        .select_related("caller")
        .annotate(number=AS_TEXT)
    )
    if view == "messages":
        calls = calls.filter(outcome=Outcome.MESSAGE_TAKEN)
    elif view == "unread":
        calls = calls.filter(outcome=Outcome.MESSAGE_TAKEN, message_read_at__isnull=True)
    page = keyset_paginate(request, calls, key="started_at", descending=True, size=PAGE_SIZE)
    template = "portal/call-rows.html" if request.htmx and request.GET.get("cursor") else None
    return render(
        request,
        template or "portal/messages.html",
        {
            "business": business,
            "page": page,
            "view": view,
            "views": _tabs(request, CALL_VIEWS),
        },
    )


def _call_of(user, pk):
    call = (
        Call.objects.for_user(user)
        .filter(pk=pk)
        .only(
            *CALL_COLUMNS,
            "ended_at",
            "message_status",
            "message_sent_at",
            "delivery_state",
            *(f"message_read_by__{column}" for column in PERSON_COLUMNS),
        )
        .select_related("caller", "message_read_by")
        .annotate(number=AS_TEXT)
        .first()
    )
    if call is None:
        raise Http404("No such call.")
    return call


@client_page
def call_page(request, business, pk):
    """One call taken for the business: what the caller wanted and the message for it."""
    call = _call_of(request.user, pk)
    callbacks = list(
        Callback.objects.filter(call=call)
        .only("call_id", "due_at", "status", "promise", "closed_at", "outcome")
        .order_by("pk")
    )
    delivery, steps = None, []
    if call.delivery_state:
        # The delivery log of an urgent message: whom it was sent to, who confirmed it.
        delivery = MessageDelivery.objects.filter(call=call).first()
        steps = list(delivery.steps.all()) if delivery is not None else []
    return render(
        request,
        "portal/call.html",
        {
            "business": business,
            "call": call,
            "callbacks": callbacks,
            "delivery": delivery,
            "delivery_steps": steps,
            "delivery_call": call,
            "staff": False,
        },
    )


@require_POST
@client_page
def call_confirm(request, business, pk):
    """Confirm an urgent message from the portal (delivery_confirm): the ladder stops."""
    call = _call_of(request.user, pk)
    delivery = MessageDelivery.objects.filter(call=call).first()
    if delivery is None:
        raise Http404("This call has no urgent message to confirm.")
    try:
        delivery, newly = delivery_confirm(delivery_id=delivery.pk, user=request.user)
    except DeliveryAlreadyConfirmed as exc:
        # Whoever pressed Confirm has read it, all the same.
        message_mark_read(call_id=call.pk, user=request.user)
        messages.info(
            request,
            f"{exc.by} confirmed it already, at "
            f"{timezone.localtime(exc.at):%H:%M}: nothing more to do.",
        )
    except DeliveryWithdrawn:
        messages.info(request, "This message no longer needs confirming: nothing more to do.")
    else:
        if newly:
            messages.success(request, "Confirmed: nobody else will be told of this message.")
    return redirect("portal:call", pk=pk)


@require_POST
@client_page
def call_read(request, business, pk):
    """Mark the message of a call read (message_mark_read)."""
    try:
        message_mark_read(call_id=pk, user=request.user)
    except Call.DoesNotExist:
        raise Http404("No such call.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("portal:call", pk=pk)


@client_page
def callbacks_list(request, business):
    """The business's callbacks: the open ones by due time, or the kept ones, latest first."""
    view = _view_of(request, CALLBACK_VIEWS, "open")
    callbacks = (
        Callback.objects.for_user(request.user)
        .select_related("caller")
        .only(
            "business_id",
            "call_id",
            "due_at",
            "promised_due_at",
            "status",
            "reason",
            "closed_at",
            "outcome",
            "attempt_count",
            "caller__name",
        )
    )
    if view == "kept":
        callbacks = callbacks.filter(status=CallbackStatus.DONE)
        page = keyset_paginate(request, callbacks, key="closed_at", descending=True, size=PAGE_SIZE)
    else:
        callbacks = callbacks.filter(status__in=ACTIVE)
        page = keyset_paginate(request, callbacks, key="due_at", descending=False, size=PAGE_SIZE)
    return render(
        request,
        "portal/callbacks.html",
        {
            "business": business,
            "page": page,
            "view": view,
            "now": timezone.now(),
            "views": _tabs(request, CALLBACK_VIEWS),
        },
    )


@client_page
def escalations_list(request, business):
    """Escalations about the business's callers: status and resolution (never the debrief,
    which is between a manager and the receptionist)."""
    escalations = (
        Escalation.objects.for_user(request.user)
        .select_related("call__caller")
        .only(
            "call_id",
            "raised_at",
            "status",
            "resolution",
            "resolved_at",
            "call__business_id",
            "call__summary",
            "call__caller__name",
        )
    )
    page = keyset_paginate(request, escalations, key="raised_at", descending=True, size=PAGE_SIZE)
    return render(request, "portal/escalations.html", {"business": business, "page": page})


def month_bounds(text: str, zone) -> tuple[datetime, datetime] | None:
    """The start and end of a month "YYYY-MM" in `zone`, or None for anything else (other
    digits than 0-9 too, which strptime would read)."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}", text):
        return None
    try:
        first = datetime.strptime(text, "%Y-%m")
    except (ValueError, TypeError):
        return None
    if not 2000 <= first.year <= 2100:
        return None
    return first.replace(tzinfo=zone), _next_month(first).replace(tzinfo=zone)


def _next_month(first: datetime) -> datetime:
    """The first day of the month after the one `first` is in."""
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


# The month summary's three counts, compiled once per process (receptionist.statements):
# building their QuerySets was most of the page's time.
_TAKEN = Q(outcome=Outcome.MESSAGE_TAKEN)
MONTH_CALLS = Statement(
    lambda business, start, end: (
        Call.objects.filter(business_id=business, started_at__gte=start, started_at__lt=end)
        .order_by()
        .values("nature", "urgency")
        .annotate(
            n=Count("pk"),
            taken=Count("pk", filter=_TAKEN),
            read=Count("pk", filter=_TAKEN & Q(message_read_at__isnull=False)),
        )
    ),
    business=int,
    start=datetime,
    end=datetime,
)
_DONE = Q(status=CallbackStatus.DONE)
MONTH_CALLBACKS = Statement(
    lambda business, start, end: (
        Callback.objects.filter(business_id=business, created_at__gte=start, created_at__lt=end)
        .order_by()
        .values("business_id")
        .annotate(
            promised=Count("pk"),
            on_time=Count("pk", filter=KEPT_ON_TIME),
            kept=Count("pk", filter=_DONE),
            open=Count("pk", filter=Q(status__in=ACTIVE)),
            cancelled=Count("pk", filter=Q(status=CallbackStatus.CANCELLED)),
        )
    ),
    business=int,
    start=datetime,
    end=datetime,
)
MONTH_ESCALATIONS = Statement(
    lambda business, start, end: (
        Escalation.objects.filter(business_id=business, raised_at__gte=start, raised_at__lt=end)
        .order_by()
        .values("business_id")
        .annotate(n=Count("pk"))
    ),
    business=int,
    start=datetime,
    end=datetime,
)


@client_page
def summary(request, business):
    """A month of calls for the business: by nature and urgency, the messages taken, and
    the callbacks promised in it and how they were kept."""
    zone = business.zone
    this_month = timezone.localtime(timezone.now(), zone).strftime("%Y-%m")
    asked = request.GET.get("month", this_month)
    bounds = month_bounds(asked, zone)
    if bounds is None:
        messages.error(request, "A month is written like 2026-11: showing this month.")
        asked, bounds = this_month, month_bounds(this_month, zone)
    month = {"business": business.pk, "start": bounds[0], "end": bounds[1]}
    # One pass over the month's calls (from call_business_started_idx alone on PostgreSQL).
    grid, messages_taken = {}, {"taken": 0, "read": 0}
    for nature, urgency, n, taken, read in MONTH_CALLS.rows(**month):
        grid[nature, urgency] = n
        messages_taken["taken"] += taken
        messages_taken["read"] += read
    counted = MONTH_CALLBACKS.rows(**month)
    names = ("promised", "on_time", "kept", "open", "cancelled")
    callbacks = dict(zip(names, counted[0][1:] if counted else [0] * 5, strict=True))
    escalations = MONTH_ESCALATIONS.rows(**month)
    callbacks["late"] = callbacks["kept"] - callbacks["on_time"]
    natures, urgencies = list(Nature), list(Urgency)
    rows = [
        (
            nature.label,
            [grid.get((nature, urgency), 0) for urgency in urgencies],
            sum(grid.get((nature, urgency), 0) for urgency in urgencies),
        )
        for nature in natures
    ]
    totals = [sum(grid.get((nature, urgency), 0) for nature in natures) for urgency in urgencies]
    first = bounds[0].replace(tzinfo=None)
    previous = (first - timedelta(days=1)).strftime("%Y-%m")
    following = _next_month(first).strftime("%Y-%m")
    return render(
        request,
        "portal/summary.html",
        {
            "business": business,
            "month": first,
            "previous": previous,
            "following": following if following <= this_month else None,
            "urgencies": [urgency.label for urgency in urgencies],
            "rows": rows,
            "totals": totals,
            "total": sum(totals),
            "messages_taken": messages_taken,
            "callbacks": callbacks,
            "escalations": escalations[0][1] if escalations else 0,
        },
    )
