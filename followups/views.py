"""Views of the callback queue: the queue, a callback's page, and its actions."""

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from callers.models import Business, active_businesses, business_names
from calls.forms import CallForm
from calls.models import Call, Urgency
from followups.forms import (
    AssignForm,
    AttemptForm,
    CancelForm,
    OpenForForm,
    PolicyForm,
    PromisePreviewForm,
)
from followups.models import (
    DEFAULT_POLICY_MINUTES,
    Callback,
    CallbackAttempt,
    CallbackPolicy,
    CallbackStatus,
    PromiseKeeping,
    at_risk_until,
)
from followups.services import (
    CallbackConflict,
    CallbackTaken,
    callback_assign,
    callback_attempt,
    callback_cancel,
    callback_claim,
    callback_due_at,
    callback_release,
    check_due,
    policy_refusals,
    policy_save,
    promise_words,
)
from receptionist.audit import audit_trail
from receptionist.forms import add_service_errors, with_version
from receptionist.pagination import keyset_paginate, keyset_read
from receptionist.rendering import render
from receptionist.roles import display_name
from receptionist.statements import KeysetStatement, Statement, record_or_404
from receptionist.views import navigation_badge

# The views of the queue: the tab's label, the callbacks it shows (narrowed by the values
# named), and those values for a person at a time.
VIEWS = {
    "mine": ("Mine", lambda qs, user: qs.mine(user), lambda user, now: {"user": user.pk}),
    "unassigned": ("Unassigned", lambda qs: qs.unassigned(), lambda user, now: {}),
    "team": ("Team", lambda qs: qs.active(), lambda user, now: {}),
    "overdue": ("Overdue", lambda qs, now: qs.overdue(now), lambda user, now: {"now": now}),
    "at_risk": (
        "At risk",
        lambda qs, now, until: qs.at_risk(now, until),
        lambda user, now: {"now": now, "until": at_risk_until(now)},
    ),
}
# A view's page for a person who sees every business, compiled once per view
# (receptionist/statements.py): compiling the queue's query took a sixth of the page.
QUEUE_PAGE = KeysetStatement(
    lambda view, **values: VIEWS[view][1](Callback.objects.all(), **values).for_queue(),
    key="due_at",
    descending=False,
    shape=("view",),
    user=int,
    now=datetime,
    until=datetime,
)


@permission_required("followups.view_callback", raise_exception=True)
def callback_queue(request):
    view = request.GET.get("view", "team")
    if view not in VIEWS:
        # Shown through the 400 page, escaped like everything else it prints.
        raise BadRequest(f"Unknown view {view!r}: use one of {', '.join(VIEWS)}.")
    now = timezone.now()
    _, shown, values_of = VIEWS[view]
    values = values_of(request.user, now)
    if Business.objects.ids_for(request.user) is None:
        page = keyset_read(
            request,
            QUEUE_PAGE.reader(view=view, **values),
            model=Callback,
            key="due_at",
            size=settings.CALLBACKS_PAGE_SIZE,
        )
    else:
        page = keyset_paginate(
            request,
            shown(Callback.objects.for_user(request.user), **values).for_queue(),
            key="due_at",
            descending=False,
            size=settings.CALLBACKS_PAGE_SIZE,
        )
    context = {"view": view, "page": page, "now": now, "business_names": business_names()}
    # Drawn by Jinja2 (jinja/followups/): the whole page, or the part htmx asks for.
    if request.htmx and request.GET.get("cursor"):
        # Rows added below the first page: the 10-second refresh would throw them away, so
        # this answer also replaces the refresher with a "Refresh" link (out of band).
        context["paused"] = True
        return render(request, "followups/callback-rows.html", context)
    counts = context["callback_counts"] = Callback.objects.queue_counts(request.user, now)
    context["tabs"] = [(key, label, counts[key]) for key, (label, *_) in VIEWS.items()]
    template = "followups/callback_queue.html"
    if request.htmx:
        template = "followups/callback-queue.html"
    return render(request, template, context)


@navigation_badge("followups.view_callback")
def callback_counts(request):
    """The callback badges of the navigation: overdue, at risk, mine."""
    counts = Callback.objects.queue_counts(request.user)
    return render(request, "followups/includes/callback-counts.html", {"callback_counts": counts})


def _callback_or_404(request, pk, queryset=None):
    queryset = Callback.objects.all() if queryset is None else queryset
    return get_object_or_404(queryset.for_user(request.user), pk=pk)


# A callback's page, compiled once (receptionist/statements.py): the callback, its attempts
# with who made them, and the calls of the caller attached to it since.
CALLBACK_PAGE = Statement(lambda pk: Callback.objects.for_page().filter(pk=pk), pk=int)
ATTEMPTS = Statement(
    lambda callback: CallbackAttempt.objects.filter(callback_id=callback).select_related(
        "attempted_by"
    ),
    callback=int,
)
LATER_CALLS = Statement(
    lambda callback: (
        Call.objects.filter(attached_callbacks=callback)
        .only("started_at", "summary")
        .order_by("-started_at")[:20]
    ),
    callback=int,
)


@permission_required("followups.view_callback", raise_exception=True)
def callback_detail(request, pk, attempt_form=None, assign_form=None, cancel_form=None, status=200):
    callback = record_or_404(
        CALLBACK_PAGE,
        lambda: Callback.objects.for_page().for_user(request.user).filter(pk=pk),
        every_business=Business.objects.ids_for(request.user) is None,
        pk=pk,
    )
    callback.fetch_people()
    context = {
        "callback": callback,
        "now": timezone.now(),
        # As text: the page only shows and dials them.
        "phones": callback.numbers,
        # The callback was read within the person's businesses: these are theirs to see.
        "attempts": ATTEMPTS.all(callback=callback.pk),
        "later_calls": LATER_CALLS.all(callback=callback.pk),
        "changes": audit_trail(callback),
        "holds_claim": callback.claimed_by_id == request.user.pk,
        "manages": request.user.has_perm("followups.manage_callback"),
    }
    # An attempt can be recorded on an open callback, or on one this person has claimed. A
    # form sent back with errors is always shown again, so that nothing typed is lost.
    if attempt_form is not None or (
        callback.is_active
        and request.user.has_perm("followups.change_callback")
        and (callback.status == CallbackStatus.OPEN or context["holds_claim"])
    ):
        context["attempt_form"] = attempt_form or AttemptForm(callback=callback)
    if callback.is_active and context["manages"]:
        context["assign_form"] = assign_form or AssignForm(
            initial={"assignee": callback.assigned_to_id}
        )
        context["cancel_form"] = cancel_form or CancelForm()
    return render(request, "followups/callback_detail.html", context, status=status)


def _taken_message(request, exc: CallbackTaken, typed: str = ""):
    """Who got there first; and what this person wrote, which was not recorded, so that it
    is not lost (a message is escaped like everything else)."""
    callback = exc.callback
    who = display_name(exc.by)
    if callback.is_active:
        said = f"{who} has already claimed this callback."
    else:
        said = f"This callback was {callback.get_status_display().lower()} by {who}."
    if typed.strip():
        said += f" What you wrote was not recorded: “{typed.strip()}”"
    messages.warning(request, said)


def _typed(data) -> str:
    """An attempt's note and outcome as typed, to give back when they cannot be recorded."""
    return " / ".join(part for part in (data["note"].strip(), data["outcome"].strip()) if part)


@require_POST
@permission_required("followups.change_callback", raise_exception=True)
def callback_claim_view(request, pk):
    callback = _callback_or_404(request, pk)
    try:
        callback_claim(callback_id=callback.pk, user=request.user)
    except CallbackTaken as exc:
        _taken_message(request, exc)
    else:
        messages.success(request, "It's yours: call them now, then record the attempt.")
    return redirect(callback)


@require_POST
@permission_required("followups.change_callback", raise_exception=True)
def callback_release_view(request, pk):
    callback = _callback_or_404(request, pk)
    try:
        callback_release(callback_id=callback.pk, user=request.user)
    except CallbackTaken as exc:
        _taken_message(request, exc)
    else:
        messages.success(request, "Back in the queue for the team.")
    return redirect("callbacks:queue")


@require_POST
@permission_required("followups.change_callback", raise_exception=True)
def callback_attempt_view(request, pk):
    callback = _callback_or_404(request, pk)
    form = AttemptForm(request.POST, callback=callback)
    if not form.is_valid():
        if "version" in form.errors:
            # A forged or broken form: show the callback as it is now, keep what was typed,
            # and let it be recorded against what is shown.
            form = AttemptForm(with_version(request.POST, callback.version), callback=callback)
            form.is_valid()
            form.add_error(
                None,
                "This form did not say which version of the callback it was for: check the "
                "callback as it is now, then record the attempt again.",
            )
        return callback_detail(request, pk, attempt_form=form, status=400)
    data = form.cleaned_data
    try:
        attempt = callback_attempt(
            callback_id=callback.pk,
            user=request.user,
            expected_version=data["version"],
            result=data["result"],
            note=data["note"],
            next_due_at=data["next_due_at"],
            outcome=data["outcome"],
        )
    except CallbackConflict as exc:
        current = exc.current
        if not current.is_active or (
            current.is_claimed and current.claimed_by_id != request.user.pk
        ):
            # Nothing to record it on any more: say who, and give back what was typed.
            _taken_message(request, CallbackTaken(current), _typed(data))
            return redirect(callback)
        # Keep what this person typed; they can record it again against the new version.
        post = with_version(request.POST, current.version)
        messages.warning(
            request,
            "This callback changed while you had it open (see below). Your attempt was not "
            "recorded yet and is still in the form: check, then record it again.",
        )
        return callback_detail(
            request, pk, attempt_form=AttemptForm(post, callback=exc.current), status=409
        )
    except CallbackTaken as exc:
        _taken_message(request, exc, _typed(data))
        return redirect(callback)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return callback_detail(request, pk, attempt_form=form, status=400)
    if attempt.rescheduled_to:
        messages.success(
            request,
            f"{attempt.get_result_display()} recorded; back in the queue for "
            f"{timezone.localtime(attempt.rescheduled_to):%H:%M on %b %d}.",
        )
        return redirect("callbacks:queue")
    messages.success(request, "Callback closed. Promise kept.")
    return redirect(callback)


@require_POST
@permission_required("followups.manage_callback", raise_exception=True)
def callback_assign_view(request, pk):
    callback = _callback_or_404(request, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return callback_detail(request, pk, assign_form=form, status=400)
    assignee = form.cleaned_data["assignee"]
    try:
        callback_assign(callback_id=callback.pk, user=request.user, assignee=assignee)
    except CallbackTaken as exc:
        _taken_message(request, exc)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return callback_detail(request, pk, assign_form=form, status=400)
    else:
        messages.success(request, f"Assigned to {display_name(assignee, 'the team')}.")
    return redirect(callback)


@require_POST
@permission_required("followups.manage_callback", raise_exception=True)
def callback_cancel_view(request, pk):
    callback = _callback_or_404(request, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return callback_detail(request, pk, cancel_form=form, status=400)
    try:
        callback_cancel(callback_id=callback.pk, user=request.user, **form.cleaned_data)
    except CallbackTaken as exc:
        _taken_message(request, exc, form.cleaned_data["reason"])
    except ValidationError as exc:
        add_service_errors(form, exc)
        return callback_detail(request, pk, cancel_form=form, status=400)
    else:
        messages.success(request, "Callback cancelled.")
    return redirect(callback)


@require_GET
@permission_required("followups.view_callback", raise_exception=True)
def open_for_caller(request):
    """On the call form, as the number is typed: does this caller have an open callback?"""
    form = OpenForForm(request.GET)
    if not form.is_valid():
        raise BadRequest("The notice was asked about a number or a caller it cannot read.")
    data = form.cleaned_data
    callbacks = Callback.objects.for_user(request.user)
    if data["caller"] is not None or data["phone"]:
        found = list(
            callbacks.open_for(
                caller_id=data["caller"], phone=data["phone"], business=data["business"]
            )[:5]
        )
    else:
        found = []
    return render(
        request,
        "followups/callback_open_notice.html",
        {"callbacks": found, "attach_to": data["attach_to"], "now": timezone.now()},
    )


@require_GET
@permission_required("followups.add_callback", raise_exception=True)
def promise_preview(request):
    """The call form's callback fields, as nature and urgency change: the due time the
    policy gives (unless it was changed by hand) and the words to say (unless typed).

    Answers out-of-band swaps of the parts that change, so that nothing the receptionist is
    typing in is replaced under their fingers.
    """
    form = PromisePreviewForm(request.GET)
    form.is_valid()
    if {"nature", "urgency", "callback", "caller"} & set(form.errors):
        raise BadRequest("Give nature and urgency from the call form.")
    data = form.cleaned_data
    if not data["callback"]:
        return HttpResponse("")
    if "callback_due_at" in form.errors:
        # A time the browser sent but nobody can mean (year 9999): say so beside the field.
        return render(
            request,
            "followups/callback_promise_preview.html",
            {"problem": " ".join(form.errors["callback_due_at"]), "edited": True},
        )
    now = timezone.now()
    typed_due, typed_words = data["callback_due_at"], data.get("callback_promise", "")
    business = None
    visible = Business.objects.for_user(request.user)
    if data.get("business") is not None:
        business = visible.filter(pk=data["business"], active=True).first()
    if business is None and data["caller"] is not None:
        business = visible.filter(callers=data["caller"]).first()
    if business is None and Business.objects.ids_for(request.user) is not None:
        # Someone who works for some businesses: the form asks which when there are several.
        business = visible.filter(active=True).order_by("name").first()
    business = business or Business.objects.default()
    edited = data["callback_due_edited"] and typed_due is not None
    due = (
        typed_due
        if edited
        else callback_due_at(
            business_id=business.pk, nature=data["nature"], urgency=data["urgency"], now=now
        )
    )
    # Words still as this preview last wrote them are replaced; words typed are kept.
    words_are_ours = not typed_words or typed_words == data.get("callback_words_shown")
    try:
        check_due(due, "callback_due_at", now)
        problem = ""
    except ValidationError as exc:
        problem = " ".join(exc.messages)
    words = promise_words(due, now, business.zone) if words_are_ours and not problem else None
    note = "" if problem else _closed_then(business, due)
    shown = CallForm(
        initial={"callback_due_at": timezone.localtime(due), "callback_promise": words or ""},
        user=request.user,
    )
    return render(
        request,
        "followups/callback_promise_preview.html",
        {
            "form": shown,
            "replace_due": not edited,
            "words": words,
            "problem": problem,
            "note": note,
            "edited": edited,
        },
    )


def _closed_then(business, due) -> str:
    """A warning when the business is closed at the due time (by its opening hours, on its
    clock), saying the time there when its clock is not the desk's; else ""."""
    kept = next((b for b in active_businesses() if b.pk == business.pk), business)
    if kept.is_open(due) is not False:
        return ""
    local = timezone.localtime(due, business.zone)
    there = ""
    if local.utcoffset() != timezone.localtime(due).utcoffset():
        there = f" ({local:%a %H:%M} on its clock, {business.time_zone})"
    return f"{business.name} is closed then{there}: is a callback outside its hours right?"


@permission_required("followups.change_callbackpolicy", raise_exception=True)
def policy_edit(request, pk):
    """A business's callback policy: how soon callbacks are due, by nature and urgency
    (policy_save). An empty box is the default, shown greyed in it."""
    business = get_object_or_404(Business.objects.for_user(request.user), pk=pk)
    rows = CallbackPolicy.objects.filter(business=business)
    current = {f"{row.nature}_{row.urgency}": row.due_within_minutes for row in rows}
    if request.method == "POST":
        form = PolicyForm(request.POST, defaults=DEFAULT_POLICY_MINUTES)
        if form.is_valid():
            try:
                policy_save(
                    user=request.user,
                    business=business,
                    minutes=form.minutes(request.POST),
                    within_business_hours=form.cleaned_data["within_business_hours"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{business.name}'s callback policy saved.")
                return redirect("businesses:list")
        else:
            # The other boxes' refusals too, all at once.
            for name, errors in policy_refusals(form.minutes(request.POST)).items():
                form.add_error(name, errors)
    else:
        current["within_business_hours"] = PromiseKeeping.objects.of(business.pk)[1]
        form = PolicyForm(initial=current, defaults=DEFAULT_POLICY_MINUTES)
    return render(
        request,
        "followups/policy_form.html",
        {"form": form, "business": business, "urgencies": [u.label for u in Urgency]},
        status=400 if request.method == "POST" else 200,
    )
