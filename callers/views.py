"""Views of the callers app: the list, the edit form, merging duplicates; the businesses.

The caller's own page and the lookup panel show calls, so they live in calls (see
calls/urls_callers.py, which mounts these views beside them under /callers/)."""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from callers.forms import (
    BusinessForm,
    CallerForm,
    CallerMergeForm,
    CallerPhoneFormSet,
    CallerSearchForm,
    ConfirmingForm,
    ContactFormSet,
    ExceptionFormSet,
    PersonForm,
    WeeklyFormSet,
    contacts_of,
    shift_initial,
    shown_number,
)
from callers.models import (
    Business,
    Caller,
    CallerView,
    ClosedDay,
    Hours,
    InboundNumber,
    NumbersOf,
    OpeningHours,
    finds_few,
)
from callers.oncall import coverage, read_shifts
from callers.services import (
    ADD_IS_FOR_EVERY_BUSINESS,
    EDITABLE_FIELDS,
    CallerConflict,
    CallerGone,
    business_save,
    business_set_active,
    caller_merge,
    caller_update,
    caller_viewed,
    on_call_save,
)
from receptionist.forms import VERSION_UNKNOWN, add_service_errors
from receptionist.models import StaffBusiness
from receptionist.pagination import keyset_paginate
from receptionist.people import (
    MANAGERS_OF_EVERY_BUSINESS,
    ROLES,
    may_manage_people,
    person_save,
    role_of,
)
from receptionist.rendering import render
from receptionist.versions import form_base, read_base, three_way


@permission_required("callers.view_caller", raise_exception=True)
def caller_list(request):
    form = CallerSearchForm(request.GET)
    callers = Caller.objects.for_user(request.user)
    # A search that cannot be read finds nobody (and says why), rather than everybody.
    searched = form.is_valid() and bool(form.cleaned_data["q"])
    few = searched and finds_few(form.cleaned_data["q"])
    shown = callers.only(*Caller.LIST_COLUMNS).annotate(numbers=NumbersOf("pk"))
    callers = callers.search(form.cleaned_data["q"]) if form.is_valid() else callers.none()
    page = keyset_paginate(
        request,
        # The numbers only to show: as text, with each row (NumbersOf).
        callers.only(*Caller.LIST_COLUMNS).annotate(numbers=NumbersOf("pk")),
        key="name",
        descending=False,
        size=settings.CALLERS_PAGE_SIZE,
        # A search: the page's ids first (CallerQuerySet.first_by_name), then their rows.
        ids_first=(
            (lambda found, after, n: callers.first_by_name(after, n, few=few))
            if searched
            else False
        ),
        rows=shown if searched else None,
    )
    context = {"form": form, "page": page}
    # Drawn by Jinja2 (jinja/callers/): the whole page, or the part htmx asks for.
    template = "callers/caller_list.html"
    if request.htmx:
        template = (
            "callers/caller-rows.html"
            if request.GET.get("cursor")
            else "callers/caller-results.html"
        )
    return render(request, template, context)


BIG_ID = 2**63 - 1


def _id_param(request, name: str, what: str) -> int | None:
    """The id given as `name` in the address, or None; anything else is a 400 that says so."""
    given = request.GET.get(name, "")
    if not given:
        return None
    if not given.isascii() or not given.isdigit() or not 0 < int(given) <= BIG_ID:
        raise BadRequest(f"“{name}” must be the number of {what}.")
    return int(given)


@permission_required("callers.view_callerview", raise_exception=True)
def caller_views(request):
    """Who opened which caller's page, newest first: one caller's (?caller=), one person's
    (?person=), or everyone's; a manager limited to some businesses reads their callers'."""
    openings = CallerView.objects.visible_to(request.user)
    caller = person = None
    if (caller_id := _id_param(request, "caller", "a caller")) is not None:
        caller = get_object_or_404(Caller.objects.for_user(request.user), pk=caller_id)
        openings = openings.filter(caller=caller)
    if (person_id := _id_param(request, "person", "a person")) is not None:
        people = get_user_model().objects.all()
        allowed = Business.objects.ids_for(request.user)
        if allowed is not None:
            # Someone limited to some businesses names only the people of those: who
            # works for one of them, or opened one of their callers.
            people = people.filter(
                Q(pk__in=StaffBusiness.objects.filter(business_id__in=allowed).values("user_id"))
                | Q(pk__in=openings.values("viewed_by_id"))
            )
        person = get_object_or_404(people, pk=person_id)
        openings = openings.filter(viewed_by=person)
    page = keyset_paginate(
        request,
        openings.select_related("viewed_by")
        .select_related("caller")
        .only(
            "viewed_at",
            "caller__name",
            "viewed_by__username",
            "viewed_by__first_name",
            "viewed_by__last_name",
        ),
        key="viewed_at",
        descending=True,
        size=settings.CALLERS_PAGE_SIZE,
    )
    return render(
        request, "callers/caller_views.html", {"page": page, "caller": caller, "person": person}
    )


@permission_required("callers.change_caller", raise_exception=True)
def caller_edit(request, pk):
    caller = get_object_or_404(Caller.objects.for_user(request.user), pk=pk)
    if request.method == "GET":
        # The edit form shows the whole record, as the caller's page does (privacy).
        caller_viewed(caller_id=caller.pk, user=request.user)
    can_flag = request.user.has_perm("callers.flag_caller")
    conflict, status = None, 200
    if request.method == "POST":
        form = CallerForm(request.POST, instance=caller, can_flag=can_flag)
        phones = CallerPhoneFormSet(request.POST, instance=caller)
        forms_valid = form.is_valid() & phones.is_valid()  # both, so both show their errors
        if "version" in form.errors:
            # A forged or broken form: saving it could overwrite anyone's edit. Show what
            # was typed, with the reason, and nothing to save it with.
            form.errors.pop("version")
            form.add_error(None, VERSION_UNKNOWN.format(what="caller"))
            status = 400
        elif form.is_valid() and form.cleaned_data["version"] != caller.version:
            # Saved by someone else since this form was opened: a conflict, whatever the
            # numbers' rows say (one deleted meanwhile would otherwise fail them forever).
            conflict = caller
        elif forms_valid:
            try:
                caller_update(
                    caller_id=caller.pk,
                    expected_version=form.cleaned_data["version"],
                    user=request.user,
                    changes={name: form.cleaned_data[name] for name in form.editable_fields},
                    phones=phones.wanted_numbers(),
                )
            except CallerConflict as exc:
                conflict = exc.current
            except CallerGone:
                messages.warning(request, "This caller was merged into another one meanwhile.")
                return redirect("callers:list")
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Caller saved.")
                return redirect(caller)
    else:
        form = CallerForm(instance=caller, can_flag=can_flag)
        phones = CallerPhoneFormSet(instance=caller)
    clashes = []
    if conflict is not None:
        # What this person changed stays in the form; what only the other person changed
        # comes in; what both changed differently is marked. Saving again goes on top of
        # the newer version without undoing the other edit. The numbers are the saved
        # ones, with those this person added (a delete or a new label is done again).
        typed = {name: form.cleaned_data[name] for name in form.editable_fields}
        merged, clashes = three_way(
            base=read_base(request.POST.get("base")), mine=typed, theirs=conflict
        )
        form = CallerForm(
            initial={**merged, "version": conflict.version}, instance=conflict, can_flag=can_flag
        )
        added = phones.added_numbers()
        phones = CallerPhoneFormSet(
            instance=conflict, initial=[{"number": n, "label": label} for n, label in added]
        )
        phones.extra = len(added) + 1
        messages.warning(
            request,
            "Someone else saved this caller while you were editing. Nothing was saved yet: "
            "your changes are in the form, with theirs where you had not changed anything. "
            "Check, then save again.",
        )
    return render(
        request,
        "callers/caller_form.html",
        {
            "caller": caller,
            "form": form,
            "phones": phones,
            "conflict": conflict,
            "clashes": [form[name].label for name in clashes],
            "conflict_phones": list(conflict.phones.order_by("pk")) if conflict else [],
            "base": form_base(request, caller, EDITABLE_FIELDS, conflict=conflict),
        },
        status=409 if conflict is not None else status,
    )


@permission_required("callers.merge_caller", raise_exception=True)
def caller_merge_view(request, pk):
    source = get_object_or_404(Caller.objects.for_user(request.user).with_phones(), pk=pk)
    merge = CallerMergeForm(request.POST if request.method == "POST" else request.GET)
    if not merge.is_valid():
        raise BadRequest("Pick the caller to keep from the list.")
    target = None
    if merge.cleaned_data["into"] is not None:
        target = get_object_or_404(
            Caller.objects.for_user(request.user).with_phones(), pk=merge.cleaned_data["into"]
        )
        if target.pk == source.pk:
            raise BadRequest("A caller cannot be merged into itself.")
    if request.method == "POST":
        if target is None:
            raise BadRequest("Pick the caller to keep from the list.")
        try:
            kept = caller_merge(source=source, target=target, user=request.user)
        except CallerGone:
            # Someone merged one of the two a moment ago: nothing was changed by this one.
            messages.warning(
                request,
                f"{source.name} or {target.name} was just merged by someone else; nothing "
                "more was changed. Check the caller below.",
            )
            survivor = Caller.objects.filter(pk__in=[target.pk, source.pk]).first()
            return redirect(survivor or "callers:list")
        except ValidationError as exc:
            return render(
                request,
                "callers/caller_merge.html",
                {"source": source, "target": target, "refused": exc.messages, "form": merge},
                status=400,
            )
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


# --- businesses ---------------------------------------------------------------------------


@permission_required("callers.change_business", raise_exception=True)
def business_list(request):
    """Every business, active first, with the numbers that ring for it and whether it is
    open now on its own clock."""
    businesses = list(
        Business.objects.for_user(request.user)
        .order_by("-active", "name")
        .only("name", "time_zone", "active")
    )
    # Their numbers and hours as plain rows: as model instances (prefetch_related), the
    # 140 rows of 20 businesses were most of the page.
    ids = [business.pk for business in businesses]
    numbers, hours, closed = defaultdict(list), defaultdict(list), defaultdict(list)
    found = InboundNumber.objects.filter(business__in=ids).order_by("number")
    for business_id, number in found.values_list("business_id", "number"):
        numbers[business_id].append(number)
    for row in OpeningHours.objects.filter(business__in=ids).values_list(
        "business_id", "weekday", "opens", "closes"
    ):
        hours[row[0]].append(Hours(*row[1:]))
    # Closed today (a holiday), on any business's calendar: the days around today.
    today = timezone.now().date()
    for business_id, day in ClosedDay.objects.filter(
        business__in=ids, day__range=(today - timedelta(days=1), today + timedelta(days=1))
    ).values_list("business_id", "day"):
        closed[business_id].append(day)
    for business in businesses:
        business.numbers = numbers[business.pk]
        business.open_now = business.is_open(hours=hours[business.pk], closed=closed[business.pk])
    may_add = Business.objects.ids_for(request.user) is None
    return render(
        request,
        "callers/business_list.html",
        {
            "businesses": businesses,
            "may_add": may_add,
            "may_set_policy": request.user.has_perm("followups.change_callbackpolicy"),
        },
    )


@permission_required("callers.change_business", raise_exception=True)
def business_edit(request, pk=None):
    """Add a business (no `pk`) or change one: its greeting, instructions, time zone,
    opening hours, inbound numbers and contacts (business_save, all or nothing)."""
    visible = Business.objects.for_user(request.user)
    business = None if pk is None else get_object_or_404(visible, pk=pk)
    if business is None and (
        not request.user.has_perm("callers.add_business")
        or Business.objects.ids_for(request.user) is not None
    ):
        # (business_save refuses it too: this only spares them the form.)
        raise PermissionDenied(ADD_IS_FOR_EVERY_BUSINESS)
    instance = business or Business()
    if request.method == "POST":
        form = BusinessForm(request.POST, instance=instance)
        contacts = ContactFormSet(request.POST, prefix="contacts")
        if form.is_valid() & contacts.is_valid():
            try:
                saved = business_save(
                    user=request.user,
                    business=business,
                    contacts=contacts_of(contacts),
                    **form.business_values(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                verb = "added" if business is None else "saved"
                messages.success(request, f"{saved.name} {verb}.")
                return redirect("businesses:list")
        else:
            _business_refusals_too(request.user, business, form, contacts)
    else:
        form = BusinessForm(instance=instance)
        initial = []
        if business is not None:
            initial = [
                {
                    "id": c.pk,
                    "name": c.name,
                    "email": c.email,
                    "phone": shown_number(c.phone) if c.phone else "",
                    "role": c.role,
                }
                for c in business.contacts.all()
            ]
        contacts = ContactFormSet(prefix="contacts", initial=initial)
    return render(
        request,
        "callers/business_form.html",
        {"form": form, "contacts": contacts, "business": business},
        status=400 if request.method == "POST" else 200,
    )


class _TriedOnly(Exception):
    """business_save accepted what was tried: undo it (the form has errors)."""


def _business_refusals_too(user, business, form, contacts) -> None:
    """A business form with errors also shows business_save's refusals of what did read (a
    number another business has, a greeting's unknown {field}, overlapping hours), all at
    once rather than one round after another: business_save is tried and rolled back."""
    values = form.business_values()
    values.setdefault("name", business.name if business is not None else "")
    try:
        with transaction.atomic():
            business_save(
                user=user,
                business=business,
                contacts=contacts_of(contacts) if contacts.is_valid() else None,
                **values,
            )
            raise _TriedOnly
    except _TriedOnly:
        return
    except ValidationError as exc:
        refused = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
        for field, errors in refused.items():
            known = field in form.fields
            if (known and field not in form.errors) or (field is None and not form.errors):
                form.add_error(field if known else None, errors)


@require_POST
@permission_required("callers.change_business", raise_exception=True)
def business_active(request, pk):
    """Make a business inactive (it takes no new calls; its records stay) or active again."""
    business = get_object_or_404(Business.objects.for_user(request.user), pk=pk)
    if request.POST.get("active") not in ("0", "1"):
        raise BadRequest("Say active=1 (make active) or active=0 (make inactive).")
    active = request.POST.get("active") == "1"
    try:
        business_set_active(business=business, active=active, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        state = "active again" if active else "inactive: it takes no new calls"
        messages.success(request, f"{business.name} is {state}.")
    return redirect("businesses:list")


# --- on call ------------------------------------------------------------------------------

# How many days the on-call page shows, from today on the business's calendar.
ON_CALL_DAYS = 14


@permission_required("callers.change_business", raise_exception=True)
def business_on_call(request, pk):
    """A business's on-call schedule: who is on call over the next ON_CALL_DAYS days, in
    stretches (a gap in red), and the form that keeps it: the weekly rotation, the dated
    exceptions, and how urgent messages are confirmed (on_call_save, all or nothing)."""
    business = get_object_or_404(Business.objects.for_user(request.user), pk=pk)
    contacts = list(business.contacts.all())
    now = timezone.now()
    today = business.local_time(now).date()
    status = 200
    problems: list[str] = []
    if request.method == "POST":
        confirming = ConfirmingForm(request.POST, instance=business)
        weekly = WeeklyFormSet(request.POST, prefix="weekly", contacts=contacts)
        exceptions = ExceptionFormSet(request.POST, prefix="exceptions", contacts=contacts)
        if confirming.is_valid() & weekly.is_valid() & exceptions.is_valid():
            kept = {"weekly": weekly.kept(), "exceptions": exceptions.kept()}
            try:
                on_call_save(
                    user=request.user,
                    business=business,
                    weekly=[form.shift_values() for form in kept["weekly"]],
                    exceptions=[form.shift_values() for form in kept["exceptions"]],
                    today=today,
                    **{name: confirming.cleaned_data[name] for name in ConfirmingForm.Meta.fields},
                )
            except ValidationError as exc:
                problems = _on_call_refusals(exc, confirming, kept)
            else:
                messages.success(request, f"{business.name}'s on-call schedule saved.")
                return redirect("businesses:on_call", pk=business.pk)
        status = 400
    shifts = read_shifts([business.pk], since=today - timedelta(days=1))[business.pk]
    if request.method != "POST":
        confirming = ConfirmingForm(instance=business)
        weekly = WeeklyFormSet(
            prefix="weekly",
            contacts=contacts,
            initial=[shift_initial(s) for s in shifts if not s.is_exception],
        )
        exceptions = ExceptionFormSet(
            prefix="exceptions",
            contacts=contacts,
            initial=[shift_initial(s) for s in shifts if s.is_exception and s.ends_on >= today],
        )
    days = coverage(
        business, shifts, first=today, days=ON_CALL_DAYS, now=now, has_contacts=bool(contacts)
    )
    return render(
        request,
        "callers/on_call.html",
        {
            "business": business,
            "contacts": contacts,
            "days": days,
            "gaps": sum(day.has_gap for day in days),
            "scheduled": bool(shifts),
            "rotation": any(not shift.is_exception for shift in shifts),
            "confirming": confirming,
            "weekly": weekly,
            "exceptions": exceptions,
            "problems": problems,
        },
        status=status,
    )


def _on_call_refusals(exc: ValidationError, confirming, kept: dict) -> list[str]:
    """Put on_call_save's refusals on the rows and fields they are about; what belongs to
    none (the whole rotation, say) is returned, to show above the form."""
    left = []
    for key, errors in exc.message_dict.items():
        part, _, place = key.rpartition("_")
        if key in confirming.fields:
            confirming.add_error(key, errors)
        elif part in kept and place.isdigit() and int(place) < len(kept[part]):
            kept[part][int(place)].add_error(None, errors)
        else:
            left += errors
    return left


# --- people -------------------------------------------------------------------------------


def _people_manager(request) -> None:
    if not may_manage_people(request.user):
        raise PermissionDenied(MANAGERS_OF_EVERY_BUSINESS)


@permission_required("callers.change_business", raise_exception=True)
def people_list(request):
    """Everyone with a role: what they are, and the businesses they work for."""
    _people_manager(request)
    people = list(
        get_user_model()
        .objects.filter(Q(groups__name__in=list(ROLES.values())) | Q(is_superuser=True))
        .distinct()
        .prefetch_related("groups")
        .order_by("-is_active", "username")
    )
    names = dict(Business.objects.values_list("pk", "name"))
    limits = defaultdict(list)
    for user_id, business_id in StaffBusiness.objects.values_list("user_id", "business_id"):
        limits[user_id].append(names.get(business_id, "?"))
    for person in people:
        person.role = "superuser" if person.is_superuser else role_of(person)
        person.works_for = sorted(limits[person.pk])
    return render(request, "callers/people_list.html", {"people": people})


@permission_required("callers.change_business", raise_exception=True)
def person_edit(request, pk=None):
    """Add someone (no `pk`) or change their role, businesses and access (person_save)."""
    _people_manager(request)
    person = None if pk is None else get_object_or_404(get_user_model(), pk=pk)
    if person is not None and person.is_superuser:
        raise PermissionDenied("Superusers are managed in the admin (/admin/), by a superuser.")
    businesses = list(Business.objects.order_by("-active", "name").only("name", "active"))
    if request.method == "POST":
        form = PersonForm(request.POST, businesses=businesses)
        if form.is_valid():
            try:
                saved = person_save(user=request.user, person=person, **form.person_values())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                verb = "added" if person is None else "saved"
                messages.success(request, f"{saved.username} {verb}.")
                return redirect("businesses:people")
    else:
        initial = {"active": True}
        if person is not None:
            initial = {
                "username": person.username,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "role": role_of(person),
                "businesses": list(
                    StaffBusiness.objects.filter(user=person).values_list("business_id", flat=True)
                ),
                "active": person.is_active,
            }
        form = PersonForm(initial=initial, businesses=businesses)
    return render(
        request,
        "callers/person_form.html",
        {"form": form, "person": person},
        status=400 if request.method == "POST" else 200,
    )
