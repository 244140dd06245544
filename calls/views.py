"""Views of the calls app: log a call, the call log, a call's page and its edit form."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from calls.forms import CALL_FIELDS, CallFilter, CallForm
from calls.models import Call
from calls.services import CallConflict, call_log, call_update
from receptionist.audit import audit_trail
from receptionist.pagination import BadCursor, keyset_paginate, query_with


@permission_required("calls.add_call", raise_exception=True)
def call_new(request):
    if request.method == "POST":
        form = CallForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            call = call_log(
                user=request.user,
                caller=data["caller"],
                caller_name=data["caller_name"],
                **{name: data[name] for name in CALL_FIELDS},
            )
            messages.success(
                request,
                format_html(
                    'Call from {} logged. <a href="{}">Open it</a>',
                    call.caller.name,
                    call.get_absolute_url(),
                ),
            )
            return redirect("calls:new")
    else:
        initial = {"started_at": timezone.localtime().replace(microsecond=0)}
        if request.GET.get("phone"):
            initial["phone"] = request.GET["phone"][:40]
        form = CallForm(initial=initial, user=request.user)
    return render(request, "calls/call_form.html", {"form": form, "creating": True})


@permission_required("calls.view_call", raise_exception=True)
def call_list(request):
    calls = CallFilter(
        request.GET, queryset=Call.objects.for_user(request.user).for_list(), request=request
    )
    if not calls.is_valid():
        page = None
    else:
        try:
            page = keyset_paginate(
                calls.qs,
                key="started_at",
                descending=True,
                cursor=request.GET.get("cursor"),
                size=settings.CALLS_PAGE_SIZE,
            )
        except BadCursor as exc:
            return HttpResponseBadRequest(str(exc))
    context = {
        "filter": calls,
        "page": page,
        "next_query": query_with(request.GET, cursor=page.next_cursor)
        if page and page.has_next
        else "",
    }
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
    return render(request, "calls/call_detail.html", {"call": call, "changes": audit_trail(call)})


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
