"""The caller pages that show calls: the caller's page (/callers/<id>/) and the lookup panel
of the call form. They live here because they show calls: callers knows nothing of them."""

import json
from collections import namedtuple
from datetime import datetime

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest, ValidationError
from django.db import connection
from django.db.models import Exists, F, OuterRef, Subquery
from django.views.decorators.http import require_GET

from callers import phones
from callers.models import (
    LOOKUP_NAMED_MOST,
    Business,
    Caller,
    CallerPhone,
    NumbersOf,
    active_businesses,
)
from callers.services import caller_viewed
from calls.forms import LookupForm
from calls.models import Call, Escalation
from calls.search import AmongIds
from calls.services import UNKNOWN_CALLER, caller_on_the_phone
from receptionist.audit import audit_trail
from receptionist.pagination import keyset_read
from receptionist.rendering import render
from receptionist.statements import KeysetStatement, Statement, record_or_404

LOOKUP_LIMIT = 5
# What a row of a caller's call history shows.
HISTORY_COLUMNS = (
    "started_at",
    "nature",
    "mood",
    "summary",
    "outcome",
    "taken_by__username",
    "taken_by__first_name",
    "taken_by__last_name",
)
# What the lookup panel shows of a caller's last calls, and how many of them.
RECENT_COLUMNS = ("caller_id", "started_at", "nature", "mood", "summary")
RECENT_SHOWN = 3
# The last calls of the callers the panel shows (one shape per number of callers), compiled
# once: compiling the union of their queries took a tenth of the panel's time.
RECENT_CALLS = Statement(
    lambda **ids: Call.objects.only(*RECENT_COLUMNS).latest_query(list(ids.values()), RECENT_SHOWN),
    **{f"caller_{place}": int for place in range(LOOKUP_LIMIT)},
)


def _for_caller_page(callers, today, week):
    """A caller's page: with their numbers and labels, their calls today and this week,
    and whether a promise to them is open."""
    # Through the relation followups adds to Caller: calls does not import it.
    callbacks_of = Caller._meta.get_field("callbacks").related_model.objects
    return callers.annotate(
        # The numbers and their labels, read with the caller (a query of their own cost a
        # round trip and its planning on every caller page).
        numbers=NumbersOf("pk"),
        number_labels=NumbersOf("pk", of="label"),
        **Call.objects.counts_of_caller(since=(today, week)),
        # Most callers have no promise open and no escalation waiting: the lists are then
        # not asked for.
        has_open_callbacks=Exists(callbacks_of.active().filter(caller=OuterRef("pk"))),
        has_open_escalations=Exists(
            # From the few escalations waiting, each call's caller read by its key (a
            # scalar subquery PostgreSQL cannot turn into a join): asked as a join, it
            # walked every call of a busy caller instead.
            Escalation.objects.unresolved()
            .annotate(
                of_caller=Subquery(
                    Call.objects.filter(pk=OuterRef("call_id")).order_by().values("caller_id")[:1]
                )
            )
            .filter(of_caller=OuterRef("pk"))
        ),
    )


def _history(calls):
    # Only what a row shows (see LIST_COLUMNS).
    return calls.select_related("taken_by").only(*HISTORY_COLUMNS)


def _open_callbacks(callbacks):
    return callbacks.active().select_related("claimed_by", "assigned_to").order_by("due_at")[:10]


# The page's queries compiled once (receptionist/statements.py), for the people who may
# see every business: compiling them took a fifth of the page's time.
CALLER_PAGE = Statement(
    lambda pk, today, week: _for_caller_page(Caller.objects.filter(pk=pk), today, week),
    pk=int,
    today=datetime,
    week=datetime,
)
HISTORY_PAGE = KeysetStatement(
    lambda caller: _history(Call.objects.filter(caller_id=caller)),
    key="started_at",
    descending=True,
    caller=int,
)


def _open_escalations(escalations, caller):
    return (
        escalations.unresolved()
        .filter(call__caller_id=caller)
        .select_related("call", "acknowledged_by")
        .order_by("-raised_at")[:10]
    )


# Escalation.objects.visible_to(): every one, or those involving the person.
OPEN_ESCALATIONS = Statement(
    lambda caller: _open_escalations(Escalation.objects.all(), caller), caller=int
)
OPEN_ESCALATIONS_INVOLVING = Statement(
    lambda caller, person: _open_escalations(Escalation.objects.involving(person), caller),
    caller=int,
    person=int,
)
OPEN_CALLBACKS = Statement(
    lambda caller: _open_callbacks(
        Caller._meta.get_field("callbacks").related_model.objects.filter(caller_id=caller)
    ),
    caller=int,
)


# A number on the caller page: its E.164 text and its label as shown.
ShownNumber = namedtuple("ShownNumber", "number label")


@permission_required("callers.view_caller", raise_exception=True)
def caller_detail(request, pk):
    user = request.user
    today, week = Call.objects.count_boundaries()
    # The compiled queries hold no business filter: for people who may see every business.
    compiled = Business.objects.ids_for(user) is None
    caller = record_or_404(
        CALLER_PAGE,
        lambda: _for_caller_page(Caller.objects.for_user(user).filter(pk=pk), today, week),
        every_business=compiled,
        pk=pk,
        today=today,
        week=week,
    )
    # The caller was read within the person's businesses: their calls are theirs to see.
    page = keyset_read(
        request,
        HISTORY_PAGE.reader(caller=caller.pk),
        model=Call,
        key="started_at",
        size=settings.CALLS_PAGE_SIZE,
    )
    context = {"caller": caller, "page": page}
    # Each opening, and each further page of their calls, is recorded (privacy).
    caller_viewed(caller_id=caller.pk, user=user)
    if request.htmx and request.GET.get("cursor"):
        return render(request, "calls/caller-history-rows.html", context)
    labels = dict(CallerPhone.Label.choices)
    context["phones"] = [
        ShownNumber(number, labels.get(label, label))
        for number, label in zip(caller.numbers, caller.number_labels, strict=True)
    ]
    businesses = active_businesses()
    if len(businesses) > 1:
        # An answering service: whose caller this is (the active businesses are kept).
        context["business"] = next(
            (b for b in businesses if b.pk == caller.business_id), None
        ) or Business.objects.get(pk=caller.business_id)
    context["changes"] = audit_trail(caller, limit=10)
    # What is still open about this caller, at the top: promises to keep and escalations.
    context["open_callbacks"] = []
    if caller.has_open_callbacks:
        context["open_callbacks"] = OPEN_CALLBACKS.all(caller=caller.pk)
    if not caller.has_open_escalations:
        escalations = []
    elif not compiled:
        escalations = list(_open_escalations(Escalation.objects.visible_to(user), caller.pk))
    elif Escalation.objects.sees_every_one(user):
        escalations = OPEN_ESCALATIONS.all(caller=caller.pk)
    else:
        escalations = OPEN_ESCALATIONS_INVOLVING.all(caller=caller.pk, person=user.pk)
    context["open_escalations"] = escalations
    return render(request, "calls/caller_detail.html", context)


def _candidates(callers, today, week):
    """The lookup panel's callers, best first, one more than it shows (to tell whether
    there are more), each read with the numbers to show and their calls today and in the
    last 7 days (`today` and `week`: where those counts begin)."""
    return callers.lookup_order().annotate(
        numbers=NumbersOf("pk"), **Call.objects.counts_of_caller(since=(today, week))
    )[: LOOKUP_LIMIT + 1]


# The panel's callers for a name, or for a number (its E.164 start and up to two runs of
# digits: phones.digit_runs), compiled once (receptionist/statements.py): building and
# compiling the query took a third of the panel's time.
MOST_RUNS = 2
# A name: the ids of the people who have it, at most LOOKUP_NAMED_MOST + 1, as the index
# gives them; then, when there are not too many, the panel's callers among them.
NAMED_IDS = Statement(
    lambda text: Caller.objects.named_like(text).only("pk")[: LOOKUP_NAMED_MOST + 1],
    text=str,
)
CANDIDATES_AMONG = Statement(
    lambda ids, today, week: _candidates(
        Caller.objects.filter(AmongIds(F("pk"), ids)), today, week
    ),
    ids=list,
    today=datetime,
    week=datetime,
)
CANDIDATES_NUMBERED = Statement(
    lambda prefix, today, week, **runs: _candidates(
        Caller.objects.with_number(prefix, [runs[name] for name in sorted(runs)]), today, week
    ),
    prefix=str,
    today=datetime,
    week=datetime,
    **{f"run_{place}": str for place in range(MOST_RUNS)},
)


def _candidates_of(user, text: str, business: int | None = None) -> tuple[list, bool]:
    """The lookup panel's callers for what was typed (Caller.objects.lookup_text), within
    the person's businesses, and whether a name typed is too common to look through
    (more than LOOKUP_NAMED_MOST people have it: then no callers): CallerQuerySet.for_lookup,
    read by statements compiled once when the person sees every business, on PostgreSQL
    (on SQLite a name is matched by a regular expression, which a statement cannot take).
    `business`: that business's callers only (the call form's business, when several are
    active)."""
    if not text:
        return [], False
    today, week = Call.objects.count_boundaries()
    text = text.strip()
    number = Caller.objects.number_typed(text)
    prefix, runs = number or (None, [])
    compiled = (
        connection.vendor == "postgresql"
        and Business.objects.ids_for(user) is None
        and business is None
    )
    visible = Caller.objects.for_user(user)
    if business is not None:
        visible = visible.filter(business_id=business)
    if number:
        if compiled and len(runs) <= MOST_RUNS:
            named_runs = {f"run_{place}": run for place, run in enumerate(runs)}
            found = CANDIDATES_NUMBERED.all(prefix=prefix, today=today, week=week, **named_runs)
            return found, False
        return list(_candidates(visible.search(text), today, week)), False
    ids = NAMED_IDS.column(text=text) if compiled else visible.named_ids(text)
    if len(ids) > LOOKUP_NAMED_MOST:
        return [], True
    if not ids:
        return [], False
    if compiled:
        return CANDIDATES_AMONG.all(ids=ids, today=today, week=week), False
    return list(_candidates(Caller.objects.filter(pk__in=ids), today, week)), False


def _business_sent(pk: int | None):
    """The active business the call form sent (when several are active), or None."""
    if pk is None:
        return None
    return next((b for b in active_businesses() if b.pk == pk), None)


def _number_state(phone: str) -> str:
    """What the panel says of the number typed: "" (none), "whole" (a phone number),
    "partial" (digits still being typed) or "wrong" (letters: never a number). The panel
    says "New caller" only of a whole number: the form refuses the others on save."""
    if not phone:
        return ""
    if not phones.looks_like_number(phone):
        return "wrong"
    return "whole" if phones.to_e164(phone) else "partial"


@require_GET
@permission_required("callers.view_caller", raise_exception=True)
def caller_lookup(request):
    """Search-as-you-type on the call form: who is this, and have they called before?

    The server decides who is on the phone (calls.services.caller_on_the_phone, the rule
    call_log applies when the form is saved) and sets the form's hidden caller field with
    an out-of-band swap; the page's script only shows the choice.
    """
    form = LookupForm(request.GET)
    if not form.is_valid():
        raise BadRequest("The lookup was asked for a number, a name or a caller it cannot read.")
    phone, name = form.cleaned_data["phone"], form.cleaned_data["caller_name"]
    selected = form.cleaned_data["caller"]
    withheld = form.cleaned_data["number_withheld"]
    if withheld:
        phone = ""  # the number typed before "Number withheld" was ticked is not sent on save
    business = _business_sent(form.cleaned_data["business"])
    found, too_common = _candidates_of(
        request.user,
        Caller.objects.lookup_text(phone=phone, name=name),
        business.pk if business is not None else None,
    )
    more = len(found) > LOOKUP_LIMIT
    found = found[:LOOKUP_LIMIT]
    ids = [caller.pk for caller in found]
    # A caller picked earlier stays picked while they still match what is typed, unless
    # another name was typed over theirs: then the number and the new name decide.
    picked = next((caller for caller in found if caller.pk == selected), None)
    if picked is not None and name and name.casefold() != picked.name.casefold():
        picked = None
    try:
        chosen = caller_on_the_phone(
            user=request.user,
            caller=picked,
            phone=phone,
            name=name,
            number_withheld=withheld,
            business=business,
        )
    except ValidationError:
        chosen = None  # several share the number, or no name yet: the form says so on save
    # The callers were read within the person's businesses: their calls are theirs to see.
    recent = Call.objects.by_caller(
        ids,
        RECENT_CALLS.all(**{f"caller_{place}": pk for place, pk in enumerate(ids)}) if ids else [],
    )
    for caller in found:
        caller.recent_calls = recent[caller.pk]
        caller.pick_values = json.dumps({"caller": str(caller.pk), "caller_name": caller.name})
    response = render(
        request,
        "calls/caller_lookup.html",
        {
            "callers": found,
            "more": more,
            "too_common": too_common,
            "too_common_most": LOOKUP_NAMED_MOST,
            "chosen": chosen,
            "unknown": chosen is UNKNOWN_CALLER,
            "phone": phone,
            "number": _number_state(phone),
            "name": name,
            "withheld": withheld,
        },
    )
    if getattr(chosen, "pk", None) != selected:
        # The open-callback notice listens for this and asks again for the new caller.
        response["HX-Trigger"] = "caller-picked"
    return response
