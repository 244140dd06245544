"""Views of the callers app: list, profile, edit, lookup as you type, merge."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from callers.forms import CallerForm, CallerPhoneFormSet, CallerSearchForm
from callers.models import Caller
from callers.phones import parse
from callers.services import caller_merge
from calls.models import Call
from receptionist.audit import audit_trail
from receptionist.pagination import keyset_paginate

LOOKUP_LIMIT = 5


@permission_required("callers.view_caller", raise_exception=True)
def caller_list(request):
    form = CallerSearchForm(request.GET)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    callers = Caller.objects.for_user(request.user).search(text).with_phones()
    page = keyset_paginate(
        request, callers, key="name", descending=False, size=settings.CALLERS_PAGE_SIZE
    )
    context = {"form": form, "page": page}
    template = "callers/caller_list.html"
    if request.htmx:
        template += "#caller-rows" if request.GET.get("cursor") else "#caller-results"
    return render(request, template, context)


@permission_required("callers.view_caller", raise_exception=True)
def caller_detail(request, pk):
    caller = get_object_or_404(Caller.objects.for_user(request.user).with_phones(), pk=pk)
    page = keyset_paginate(
        request,
        Call.objects.filter(caller=caller).select_related("taken_by"),
        key="started_at",
        descending=True,
        size=settings.CALLS_PAGE_SIZE,
    )
    context = {"caller": caller, "page": page}
    if request.htmx and request.GET.get("cursor"):
        return render(request, "callers/caller_detail.html#history-rows", context)
    context["counts"] = Call.objects.counts_by_caller([caller.pk])[caller.pk]
    context["changes"] = audit_trail(caller, limit=10)
    return render(request, "callers/caller_detail.html", context)


@permission_required("callers.change_caller", raise_exception=True)
def caller_edit(request, pk):
    caller = get_object_or_404(Caller.objects.for_user(request.user), pk=pk)
    can_flag = request.user.has_perm("callers.flag_caller")
    if request.method == "POST":
        form = CallerForm(request.POST, instance=caller, can_flag=can_flag)
        phones = CallerPhoneFormSet(request.POST, instance=caller)
        if form.is_valid() and phones.is_valid():
            form.save()
            phones.save()
            messages.success(request, "Caller saved.")
            return redirect(caller)
    else:
        form = CallerForm(instance=caller, can_flag=can_flag)
        phones = CallerPhoneFormSet(instance=caller)
    return render(
        request, "callers/caller_form.html", {"caller": caller, "form": form, "phones": phones}
    )


@require_GET
@permission_required("callers.view_caller", raise_exception=True)
def caller_lookup(request):
    """Search-as-you-type on the call form: who is this, and have they called before?"""
    phone = request.GET.get("phone", "").strip()[:40]
    name = request.GET.get("caller_name", "").strip()[:200]
    selected = request.GET.get("caller", "")
    callers = Caller.objects.for_user(request.user)
    exact_number = parse(phone) is not None
    if sum(ch.isdigit() for ch in phone) >= 3:
        matches = callers.search(phone)
    elif len(name) >= 2:
        matches = callers.search(name)
    else:
        matches = callers.none()
    # Two small queries instead of one GROUP BY over every caller that matches a short prefix.
    ids = list(
        matches.order_by("-caution", "-is_vip", "name", "pk").values_list("pk", flat=True)[
            : LOOKUP_LIMIT + 1
        ]
    )
    more = len(ids) > LOOKUP_LIMIT
    ids = ids[:LOOKUP_LIMIT]
    found = list(
        Caller.objects.filter(pk__in=ids)
        .with_phones()
        .prefetch_related(
            Prefetch(
                "calls",
                queryset=Call.objects.select_related("taken_by").order_by("-started_at", "-pk")[:3],
                to_attr="recent_calls",
            )
        )
        .order_by("-caution", "-is_vip", "name", "pk")
    )
    counts = Call.objects.counts_by_caller(ids)
    for caller in found:
        caller.counts = counts[caller.pk]
        caller.call_ordinal = caller.counts["today"] + 1
    context = {
        "callers": found,
        "more": more,
        "autoselect": found[0].pk if exact_number and len(found) == 1 else None,
        "selected": selected,
        "phone": phone,
        "name": name,
    }
    return render(request, "callers/caller_lookup.html", context)


@permission_required("callers.merge_caller", raise_exception=True)
def caller_merge_view(request, pk):
    source = get_object_or_404(Caller.objects.for_user(request.user).with_phones(), pk=pk)
    target = None
    into = request.POST.get("into") or request.GET.get("into")
    if into:
        if not into.isdigit():
            return HttpResponseBadRequest("Pick the caller to keep from the list.")
        target = get_object_or_404(Caller.objects.for_user(request.user).with_phones(), pk=into)
        if target.pk == source.pk:
            return HttpResponseBadRequest("A caller cannot be merged into itself.")
    if request.method == "POST":
        if target is None:
            return HttpResponseBadRequest("Pick the caller to keep from the list.")
        kept = caller_merge(source=source, target=target, user=request.user)
        messages.success(request, f"{source.name} was merged into {kept.name}.")
        return redirect(kept)
    candidates = []
    form = CallerSearchForm(request.GET)
    if target is None and form.is_valid() and form.cleaned_data["q"]:
        candidates = list(
            Caller.objects.for_user(request.user)
            .search(form.cleaned_data["q"])
            .exclude(pk=source.pk)
            .with_phones()
            .order_by("name", "pk")[:10]
        )
    return render(
        request,
        "callers/caller_merge.html",
        {"source": source, "target": target, "candidates": candidates, "form": form},
    )
