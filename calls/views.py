"""Views of the calls app: log a call, the call log, a call's page and its edit form."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from calls.forms import (
    CALL_FIELDS,
    CALLBACK_FIELDS,
    AssignForm,
    CallFilter,
    CallForm,
    EscalateForm,
    ResolveForm,
)
from calls.models import HANDOVER_WORDS, Call, Escalation, EscalationStatus, Outcome
from calls.services import (
    CallConflict,
    EscalationTaken,
    call_log,
    call_update,
    escalation_acknowledge,
    escalation_assign,
    escalation_raise,
    escalation_resolve,
)
from receptionist.audit import audit_trail
from receptionist.models import StaffProfile
from receptionist.pagination import keyset_paginate
from receptionist.roles import display_name


@permission_required("calls.add_call", raise_exception=True)
def call_new(request):
    if request.method == "POST":
        form = CallForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                _log_call(request, form.cleaned_data)
            except ValidationError as exc:
                # A callback that closed meanwhile, or a due time that passed while typing:
                # nothing was saved, and the form keeps everything.
                form.add_error(None, exc)
            else:
                return redirect("calls:new")
    else:
        initial = {"started_at": timezone.localtime().replace(microsecond=0)}
        if request.GET.get("phone"):
            initial["phone"] = request.GET["phone"][:40]
        form = CallForm(initial=initial, user=request.user)
    return render(
        request,
        "calls/call_form.html",
        {"form": form, "creating": True, "handover_words": HANDOVER_WORDS},
    )


def _log_call(request, data) -> Call:
    """Save a valid new call (with its escalation and callback) and say what happened."""
    call = call_log(
        user=request.user,
        caller=data["caller"],
        caller_name=data["caller_name"],
        escalate=data["escalate"],
        escalation_reason=data["escalation_reason"],
        playbook_steps=data["playbook_steps"],
        **{name: data[name] for name in CALLBACK_FIELDS},
        **{name: data[name] for name in CALL_FIELDS},
    )
    if data["escalate"]:
        messages.info(request, "A manager has been flagged for this call.")
    if call.outcome == Outcome.TERMINATED_ABUSIVE:
        messages.warning(
            request,
            "That was a hard call. Take a minute away from the phone if you can; "
            "a manager has been told and will debrief you.",
        )
    if data["attach_to"]:
        messages.info(request, "Added to the caller's open callback; its priority went up.")
    elif data["callback"]:
        messages.info(request, "Callback promised: it is in the callback queue.")
    messages.success(
        request,
        format_html(
            'Call from {} logged. <a href="{}">Open it</a>',
            call.caller.name,
            call.get_absolute_url(),
        ),
    )
    return call


@permission_required("calls.view_call", raise_exception=True)
def call_list(request):
    calls = CallFilter(
        request.GET, queryset=Call.objects.for_user(request.user).for_list(), request=request
    )
    page = None
    if calls.is_valid():
        page = keyset_paginate(
            request, calls.qs, key="started_at", descending=True, size=settings.CALLS_PAGE_SIZE
        )
    context = {"filter": calls, "page": page}
    template = "calls/call_list.html"
    if request.htmx and request.GET.get("cursor"):
        template += "#call-rows"
    elif request.htmx:
        template += "#call-results"
    return render(request, template, context)


@permission_required("calls.view_call", raise_exception=True)
def call_detail(request, pk):
    call = get_object_or_404(
        Call.objects.for_user(request.user).select_related("caller", "taken_by"), pk=pk
    )
    escalations = list(
        call.escalations.select_related("resolved_by", "acknowledged_by").order_by("-raised_at")
    )
    # Through the reverse relation that followups adds to Call: calls does not import it.
    callbacks = list(call.callbacks.select_related("claimed_by", "closed_by").order_by("pk"))
    return render(
        request,
        "calls/call_detail.html",
        {
            "call": call,
            "changes": audit_trail(call),
            "escalations": escalations,
            "callbacks": callbacks,
        },
    )


@permission_required("calls.change_call", raise_exception=True)
def call_edit(request, pk):
    call = get_object_or_404(
        Call.objects.for_user(request.user).select_related("caller", "taken_by"), pk=pk
    )
    conflict = None
    if request.method == "POST":
        form = CallForm(request.POST, instance=call, creating=False)
        try:
            expected_version = int(request.POST.get("version", ""))
        except ValueError:
            return HttpResponseBadRequest(
                "The form did not say which version of the call it edits."
            )
        if form.is_valid():
            try:
                call_update(
                    call_id=call.pk,
                    expected_version=expected_version,
                    user=request.user,
                    changes={name: form.cleaned_data[name] for name in CALL_FIELDS},
                )
            except CallConflict as exc:
                conflict = exc.current
            else:
                messages.success(request, "Call saved.")
                return redirect(call)
        version = expected_version
    else:
        form = CallForm(instance=call, creating=False)
        version = call.version
    if conflict is not None:
        # Keep everything this person typed; show what the other person saved, and let
        # them save again on top of the newer version once they have looked at it.
        version = conflict.version
        messages.warning(
            request,
            "Someone else saved this call while you were editing it. Your changes are still "
            "in the form below and were not saved; compare them with the saved version, "
            "then save again.",
        )
    return render(
        request,
        "calls/call_form.html",
        {
            "form": form,
            "call": call,
            "creating": False,
            "version": version,
            "conflict": conflict,
            "cancel_url": reverse("calls:detail", args=[call.pk]),
        },
    )


# --- escalations ------------------------------------------------------------------------


def _can_see_escalation(user, escalation) -> bool:
    if user.has_perm("calls.manage_escalation"):
        return True
    return user.pk in (escalation.raised_by_id, escalation.call.taken_by_id)


@permission_required("calls.add_escalation", raise_exception=True)
def call_escalate(request, pk):
    call = get_object_or_404(Call.objects.for_user(request.user).select_related("caller"), pk=pk)
    if call.escalations.unresolved().exists():
        messages.info(request, "This call already has an open escalation.")
        return redirect(call)
    if request.method == "POST":
        form = EscalateForm(request.POST)
        if form.is_valid():
            escalation_raise(
                call=call,
                user=request.user,
                reason=form.cleaned_data["reason"],
                playbook_steps=form.cleaned_data["playbook_steps"],
            )
            messages.success(request, "A manager has been flagged for this call.")
            return redirect(call)
    else:
        form = EscalateForm()
    return render(request, "calls/escalation_raise.html", {"call": call, "form": form})


@permission_required("calls.manage_escalation", raise_exception=True)
def escalation_queue(request):
    escalations = list(Escalation.objects.for_user(request.user).for_queue()[:200])
    context = {"escalations": escalations, "now": timezone.now()}
    if request.htmx:
        return render(request, "calls/escalation_queue.html#escalation-queue", context)
    available = getattr(getattr(request.user, "staff_profile", None), "available", True)
    context["available"] = available
    return render(request, "calls/escalation_queue.html", context)


@permission_required("calls.view_escalation", raise_exception=True)
def escalation_mine(request):
    escalations = list(
        Escalation.objects.for_user(request.user)
        .filter(call__taken_by=request.user)
        .select_related("call__caller", "resolved_by", "acknowledged_by")
        .order_by("-raised_at", "-pk")[:100]
    )
    return render(request, "calls/escalation_mine.html", {"escalations": escalations})


def _escalation_or_404(request, pk):
    escalation = get_object_or_404(
        Escalation.objects.for_user(request.user).select_related(
            "call__caller",
            "call__taken_by",
            "raised_by",
            "acknowledged_by",
            "assigned_to",
            "resolved_by",
        ),
        pk=pk,
    )
    if not _can_see_escalation(request.user, escalation):
        raise PermissionDenied
    return escalation


@permission_required("calls.view_escalation", raise_exception=True)
def escalation_detail(request, pk, resolve_form=None, assign_form=None):
    escalation = _escalation_or_404(request, pk)
    manages = request.user.has_perm("calls.manage_escalation")
    context = {"escalation": escalation, "manages": manages, "now": timezone.now()}
    if manages and escalation.status != EscalationStatus.RESOLVED:
        context["resolve_form"] = resolve_form or ResolveForm(escalation=escalation)
        context["assign_form"] = assign_form or AssignForm(
            initial={"assignee": escalation.assigned_to_id}
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
    if not form.is_valid():
        return escalation_detail(request, pk, assign_form=form)
    try:
        escalation_assign(
            escalation_id=escalation.pk, user=request.user, assignee=form.cleaned_data["assignee"]
        )
    except EscalationTaken:
        messages.warning(request, "This escalation is already resolved.")
    else:
        messages.success(request, f"Assigned to {display_name(form.cleaned_data['assignee'])}.")
    return redirect(escalation)


@require_POST
@permission_required("calls.manage_escalation", raise_exception=True)
def escalation_resolve_view(request, pk):
    escalation = _escalation_or_404(request, pk)
    form = ResolveForm(request.POST, escalation=escalation)
    if not form.is_valid():
        return escalation_detail(request, pk, resolve_form=form)
    try:
        escalation_resolve(escalation_id=escalation.pk, user=request.user, **form.cleaned_data)
    except EscalationTaken as exc:
        messages.warning(
            request,
            f"{display_name(exc.by, 'Another manager')} has already resolved this escalation.",
        )
    else:
        messages.success(request, "Escalation resolved; the receptionist will see your debrief.")
    return redirect("escalations:queue")


@require_POST
@permission_required("calls.manage_escalation", raise_exception=True)
def availability_toggle(request):
    choice = request.POST.get("available")
    if choice not in {"0", "1"}:
        return HttpResponseBadRequest("Say available=1 (back) or available=0 (unavailable).")
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
