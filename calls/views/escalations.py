"""The managers' escalation queue, an escalation's page and its actions, and "my
escalations" for the front desk."""

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Func, Subquery, Value
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from callers.models import Business, business_names
from calls.forms import AssignForm, ResolvedEscalationFilter, ResolveForm
from calls.models import Escalation, EscalationStatus
from calls.services import (
    EscalationReassigned,
    EscalationTaken,
    escalation_acknowledge,
    escalation_assign,
    escalation_resolve,
)
from receptionist.forms import add_service_errors
from receptionist.models import StaffProfile
from receptionist.pagination import after_cursor, keyset_paginate, keyset_read
from receptionist.rendering import render
from receptionist.roles import display_name
from receptionist.statements import KeysetStatement, RowsStatement, Statement, cursor_values
from receptionist.views import navigation_badge


def _waiting(escalations):
    """How many of these escalations wait (unresolved), counted once in the queue's query
    (a subquery of its own: counted over the rows, a window made PostgreSQL join all of
    them to their calls and people before keeping the page's)."""
    counted = escalations.unresolved().order_by().values(one=Value(1))
    return Subquery(counted.annotate(n=Func("pk", function="COUNT")).values("n")[:1])


# The managers' queue for a person who sees every business, compiled once
# (receptionist/statements.py): its QUEUE_SIZE most urgent, each row with how many wait in
# all (`waiting`, counted in the same query).
QUEUE = Statement(
    lambda size: Escalation.objects.for_queue(size).annotate(
        waiting=_waiting(Escalation.objects.all())
    ),
    shape=("size",),
)
# The queue shows this many, the most urgent first (a screenful, as every list); the next
# come up as these are resolved. Drawn all, the 120 waiting at an answering service's 20
# businesses in the demo took three times the page budget, every 5 seconds.
QUEUE_SIZE = 25


@permission_required("calls.manage_escalation", raise_exception=True)
def escalation_queue(request):
    if Business.objects.ids_for(request.user) is None:
        escalations = QUEUE.all(size=QUEUE_SIZE)
    else:
        escalations = list(
            Escalation.objects.for_user(request.user)
            .for_queue(QUEUE_SIZE)
            .annotate(waiting=_waiting(Escalation.objects.for_user(request.user)))
        )
    waiting = escalations[0].waiting if escalations else 0
    context = {
        "escalations": escalations,
        "now": timezone.now(),
        "waiting": waiting,
        "business_names": business_names(),
    }
    if request.htmx:
        return render(request, "calls/escalation-table.html", context)
    available = getattr(getattr(request.user, "staff_profile", None), "available", True)
    context["available"] = available
    return render(request, "calls/escalation_queue.html", context)


@navigation_badge("calls.manage_escalation")
def escalation_count(request):
    """The open escalations badge of the managers' navigation."""
    count = Escalation.objects.for_user(request.user).filter(status=EscalationStatus.OPEN).count()
    return render(request, "calls/includes/escalation-count.html", {"open_escalations": count})


# The "Resolved" view when no caller's name is looked for, for a person who sees every
# business: compiled once per combination of filters (receptionist/statements.py).
RESOLVED_PAGE = KeysetStatement(
    lambda **values: ResolvedEscalationFilter.narrow(Escalation.objects.resolved(), values),
    key="resolved_at",
    descending=True,
    **{name: kind for name, (_, kind) in ResolvedEscalationFilter.NARROWING.items()},
)


@permission_required("calls.manage_escalation", raise_exception=True)
def escalation_resolved(request):
    """Past escalations, with their debriefs: by caller, manager and date."""
    found = ResolvedEscalationFilter(
        request.GET, queryset=Escalation.objects.for_user(request.user).resolved()
    )
    page = None
    valid = found.is_valid()
    if valid and not found.searches() and Business.objects.ids_for(request.user) is None:
        page = keyset_read(
            request,
            RESOLVED_PAGE.reader(**found.narrowing()),
            model=Escalation,
            key="resolved_at",
            size=settings.CALLS_PAGE_SIZE,
        )
    elif valid:
        page = keyset_paginate(
            request, found.qs, key="resolved_at", descending=True, size=settings.CALLS_PAGE_SIZE
        )
    # Drawn by Jinja2 (jinja/calls/): the whole page, or the next rows htmx asks for.
    template = "calls/escalation_resolved.html"
    if request.htmx and request.GET.get("cursor"):
        template = "calls/resolved-rows.html"
    return render(request, template, {"filter": found, "page": page})


def _mine_rows(escalations):
    return (
        escalations.select_related("call__caller", "acknowledged_by")
        # What a row shows (jinja/calls/escalation-mine-rows.html).
        .only(
            "raised_at",
            "status",
            "debrief",
            "call__caller__name",
            "acknowledged_by__username",
            "acknowledged_by__first_name",
            "acknowledged_by__last_name",
        )
    )


# "My escalations", for people who see every business, on PostgreSQL: the page's ids (the
# newest raised by the person or of the calls they took: newest_involving, one UNION) and
# then the rows of those ids, each read by a statement compiled once.
MINE_ROWS = RowsStatement(lambda: _mine_rows(Escalation.objects.all()), most=100)


MINE_IDS = Statement(
    lambda person, size, after_key=None, after_pk=None: Escalation.objects.filter(
        after_cursor("raised_at", after_key, after_pk, descending=True)
    ).newest_involving_query(person, size),
    person=int,
    after_key=datetime,
    after_pk=int,
    shape=("size",),
)


def _read_mine(person: int):
    """read_rows (receptionist.pagination.keyset_read) of a person's escalations."""

    def read_rows(size, after=None):
        found = MINE_IDS.all(person=person, size=size, **cursor_values(after))
        return MINE_ROWS.of(
            Escalation.objects.newest_of([(e.raised_at, e.pk) for e in found], size)
        )

    return read_rows


@permission_required("calls.view_escalation", raise_exception=True)
def escalation_mine(request):
    """The escalations of the calls this person took or raised, with the debriefs."""
    size = settings.CALLS_PAGE_SIZE
    if (
        connection.features.supports_slicing_ordering_in_compound
        and Business.objects.ids_for(request.user) is None
        and size < MINE_ROWS.most
    ):
        page = keyset_read(
            request, _read_mine(request.user.pk), model=Escalation, key="raised_at", size=size
        )
    else:
        visible = Escalation.objects.visible_to(request.user)
        page = keyset_paginate(
            request,
            _mine_rows(visible),
            key="raised_at",
            descending=True,
            size=size,
            ids_first=lambda ordered, after, n: visible.filter(after).newest_involving(
                request.user, n
            ),
        )
    if request.htmx and request.GET.get("cursor"):
        return render(request, "calls/escalation-mine-rows.html", {"page": page})
    return render(request, "calls/escalation_mine.html", {"page": page})


def _escalation_or_404(request, pk):
    """The escalation (404 when missing), if this person may see it (403 otherwise)."""
    try:
        return Escalation.objects.visible_to(request.user).select_related("call__caller").get(pk=pk)
    except Escalation.DoesNotExist:
        if Escalation.objects.for_user(request.user).filter(pk=pk).exists():
            raise PermissionDenied from None
        raise Http404 from None


@permission_required("calls.view_escalation", raise_exception=True)
def escalation_detail(request, pk, resolve_form=None, assign_form=None):
    escalation = _escalation_or_404(request, pk)
    escalation.fetch_people()
    manages = request.user.has_perm("calls.manage_escalation")
    context = {"escalation": escalation, "manages": manages, "now": timezone.now()}
    if manages and escalation.status != EscalationStatus.RESOLVED:
        context["resolve_form"] = resolve_form or ResolveForm(escalation=escalation)
        context["assign_form"] = assign_form or AssignForm(
            initial={"assignee": escalation.assigned_to_id, "was": escalation.assigned_to_id}
        )
    return render(request, "calls/escalation_detail.html", context)


@require_POST
@permission_required("calls.manage_escalation", raise_exception=True)
def escalation_acknowledge_view(request, pk):
    escalation = _escalation_or_404(request, pk)
    try:
        escalation_acknowledge(escalation_id=escalation.pk, user=request.user)
    except EscalationTaken as exc:
        messages.warning(
            request, f"{display_name(exc.by, 'Another manager')} has already taken this escalation."
        )
    else:
        messages.success(request, "You have taken this escalation.")
    return redirect(escalation)


@require_POST
@permission_required("calls.manage_escalation", raise_exception=True)
def escalation_assign_view(request, pk):
    escalation = _escalation_or_404(request, pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            escalation_assign(
                escalation_id=escalation.pk,
                user=request.user,
                assignee=form.cleaned_data["assignee"],
                # A form drawn before "was" existed says nothing of it: not checked.
                assigned_to_id=form.cleaned_data["was"] if "was" in request.POST else ...,
            )
        except EscalationTaken:
            messages.warning(request, "This escalation is already resolved.")
        except EscalationReassigned as exc:
            messages.warning(
                request,
                f"Someone assigned this escalation to "
                f"{display_name(exc.escalation.assigned_to, 'nobody')} while you were choosing: "
                "nothing was changed. Assign it again if you still want to.",
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Assigned to {display_name(form.cleaned_data['assignee'])}.")
            return redirect(escalation)
    if form.errors:
        return escalation_detail(request, pk, assign_form=form)
    return redirect(escalation)


@require_POST
@permission_required("calls.manage_escalation", raise_exception=True)
def escalation_resolve_view(request, pk):
    escalation = _escalation_or_404(request, pk)
    form = ResolveForm(request.POST, escalation=escalation)
    if form.is_valid():
        try:
            escalation_resolve(escalation_id=escalation.pk, user=request.user, **form.cleaned_data)
        except EscalationTaken as exc:
            typed = " / ".join(
                text.strip()
                for text in (form.cleaned_data["resolution"], form.cleaned_data["debrief"])
                if text.strip()
            )
            said = (
                f"{display_name(exc.by, 'Another manager')} has already resolved this escalation."
            )
            if typed:
                said += f" What you wrote was not saved: “{typed}”"
            messages.warning(request, said)
            return redirect(escalation)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, "Escalation resolved; the receptionist will see your debrief."
            )
            return redirect("escalations:queue")
    return escalation_detail(request, pk, resolve_form=form)


@require_POST
@permission_required("calls.manage_escalation", raise_exception=True)
def availability_toggle(request):
    choice = request.POST.get("available")
    if choice not in {"0", "1"}:
        raise BadRequest("Say available=1 (back) or available=0 (unavailable).")
    profile, _ = StaffProfile.objects.get_or_create(user=request.user)
    profile.available = choice == "1"
    profile.save()
    messages.success(
        request,
        "You will get new escalation e-mails."
        if profile.available
        else "You are marked unavailable: no new-escalation e-mails until you come back.",
    )
    return redirect("escalations:queue")
