"""Log a call, the call log, a call's page, its edit form, and flagging it for a manager."""

from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import FloatField
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from callers.models import Business, Caller, active_businesses, business_dialed, business_names
from callers.oncall_shown import on_call_shown
from calls import search
from calls.forms import (
    CALL_FIELDS,
    CALLBACK_FIELDS,
    CallFilter,
    CallForm,
    EscalateForm,
    date_shortcuts,
)
from calls.models import HANDOVER_WORDS, Call, Outcome
from calls.services import (
    CallAlreadyLogged,
    CallConflict,
    EscalationAlreadyOpen,
    call_log,
    call_update,
    escalation_raise,
)
from receptionist.audit import audit_trail
from receptionist.forms import VERSION_UNKNOWN, add_service_errors, posted_version
from receptionist.pagination import after_cursor, keyset_paginate, keyset_read, query_with
from receptionist.rendering import render
from receptionist.roles import display_name
from receptionist.statements import (
    KeysetStatement,
    RowsStatement,
    Statement,
    cursor_values,
    record_or_404,
)
from receptionist.versions import form_base, read_base, three_way


@permission_required("calls.add_call", raise_exception=True)
def call_new(request):
    if request.method == "POST":
        form = CallForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                _log_call(request, form.cleaned_data, business=form.chosen_business())
            except ValidationError as exc:
                # Nothing was saved, and the form keeps everything that was typed.
                add_service_errors(form, exc)
            except CallAlreadyLogged as exc:
                messages.info(
                    request,
                    format_html(
                        "That form was sent twice: the call from {} was logged once. "
                        '<a href="{}">Open it</a>',
                        exc.call.caller.name,
                        exc.call.get_absolute_url(),
                    ),
                )
                return redirect("calls:new")
            else:
                return redirect("calls:new")
    else:
        initial = {"started_at": timezone.localtime().replace(microsecond=0)}
        if request.GET.get("phone"):
            initial["phone"] = request.GET["phone"][:40]
        form = CallForm(initial=initial, user=request.user)
        dialed = request.GET.get("dialed", "")[:40]
        if dialed:
            business = business_dialed(dialed, form.businesses)
            if business is not None and "business" in form.fields:
                form.initial["business"] = business.pk
            elif business is None and business_dialed(dialed, active_businesses()):
                messages.warning(
                    request, f"{dialed} rings for a business you do not answer for: check it."
                )
            elif business is None and "business" in form.fields:
                messages.warning(
                    request, f"No business answers on {dialed}: pick the business for this call."
                )
    form.set_focus()
    elapsed = _seconds_since_start(form)
    return render(
        request,
        "calls/call_form.html",
        {
            "form": form,
            "creating": True,
            "handover_words": HANDOVER_WORDS,
            "elapsed": elapsed,
            "elapsed_shown": f"{elapsed // 60}:{elapsed % 60:02d}",
            "businesses": _business_panels(form, request.user),
        },
    )


def _business_panels(form, user) -> list[dict]:
    """What the call form shows of each business it may be for: the greeting to read (with
    the receptionist's first name), the instructions, whether it is open now on its own
    clock (the after-hours instructions when not), and who is on call now. One shown; the
    picker shows another."""
    shown = form.shown_business()
    businesses = [b for b in (form.businesses if "business" in form.fields else [shown]) if b]
    # Who is on call now at each (two queries for them all): the first to tell of an urgent
    # message, then the backups.
    on_call = on_call_shown(businesses)
    panels = []
    for business in businesses:
        open_now = business.is_open(hours=business.hours.all(), closed=business.closed_days.all())
        panels.append(
            {
                "business": business,
                "greeting": business.greeting_for(user),
                "open_now": open_now,
                "on_call": on_call[business.pk],
                "shown": business == shown,
                "local_time": business.local_time(),
            }
        )
    return panels


def _seconds_since_start(form) -> int:
    """How long the call on a form sent back with an error has lasted, for its timer: from
    the start time on the form, or, when that cannot be read, from when the form opened."""
    data = getattr(form, "cleaned_data", {})
    started = data.get("started_at") or data.get("opened_at")
    if started is None:
        return 0
    return max(0, min(int((timezone.now() - started).total_seconds()), 24 * 3600))


def _log_call(request, data, business=None) -> Call:
    """Save a valid new call (with its escalation and callback) and say what happened."""
    call = call_log(
        user=request.user,
        business=business,
        caller=data["caller"],
        caller_name=data["caller_name"],
        number_withheld=data["number_withheld"],
        escalate=data["escalate"],
        escalation_reason=data["escalation_reason"],
        playbook_steps=data["playbook_steps"],
        submission_key=data["submission_key"],
        **{name: data[name] for name in CALLBACK_FIELDS},
        **{name: data[name] for name in CALL_FIELDS},
    )
    # One notice, not a stack of them: the next call's form stays where it was.
    said = [
        format_html(
            'Call from {} logged. <a href="{}">Open it</a>',
            call.caller.name,
            call.get_absolute_url(),
        )
    ]
    if call.escalations.exists():
        said.append("A manager has been flagged for this call.")
    if data["attach_to"]:
        said.append("Added to the caller's open callback; its priority went up.")
    elif data["callback"]:
        said.append("Callback promised: it is in the callback queue.")
    hard = call.outcome == Outcome.TERMINATED_ABUSIVE
    if hard:
        said.append(
            "That was a hard call. Take a minute away from the phone if you can; "
            "a manager has been told and will debrief you."
        )
    notice = format_html_join(" ", "{}", ((part,) for part in said))
    (messages.warning if hard else messages.success)(request, notice)
    return call


# The call log when it is not searched, for a person who sees every business: compiled once
# per combination of filters (receptionist/statements.py). Compiling the log's query took
# a sixth of the page.
LOG_PAGE = KeysetStatement(
    lambda withheld, **values: CallFilter.narrow(Call.objects.for_list(), values, withheld),
    key="started_at",
    descending=True,
    shape=("withheld",),
    **{name: kind for name, (_, kind) in CallFilter.NARROWING.items()},
)

# A searched log's page is found as ids (calls.search): its rows, with their callers and
# takers, are then read by a statement compiled once per number of rows.
LOG_ROWS = RowsStatement(lambda: Call.objects.for_list(), most=100)


def _newest_found(
    *,
    size,
    withheld,
    window=True,
    along=None,
    edge=None,
    after_key=None,
    after_pk=None,
    ranked=False,
    **values,
):
    """The ids of a newest-first search's page (calls.search.newest_rows), from the
    values of the filters (CallFilter.narrowing) and of the search (search.compiled_values;
    `window`: whether it walks the recent calls first; `along`: the filter it walks them
    along, CallFilter.walk_along; `edge`: the window's edge, when known), after a cursor's
    (started_at, id) when one is given; `ranked`: each with its relevance
    (calls.search.ranked's), worked out only for the calls found."""
    matched = {name: values.pop(name) for name in list(values) if name in SEARCH_VALUES}
    walked = CallFilter.narrow(Call.objects.all(), CallFilter.take_walked(values, along))
    found = CallFilter.narrow(walked, values, withheld).filter(search.matching_of(matched))
    if ranked:
        found = search.relevance_of(found, matched)
    after = after_cursor("started_at", after_key, after_pk, descending=True)
    return search.newest_rows(
        found.filter(after), after, size, among=walked, window=window, edge=edge
    )


SEARCH_VALUES = {
    **{f"word_{place}": str for place in range(search.MAX_WORDS)},
    **{f"callers_{place}": list for place in range(search.MAX_WORDS)},
    "number_callers": list,
    "who_callers": list,
}


def _search_rows(**values):
    """The rows of a newest-first search's page as the log shows them (with their callers
    and takers), newest first: _newest_found's calls, read in the same query. Read apart,
    the ids and then their rows cost a round trip and a query's overhead more."""
    newest = _newest_found(**values)
    return Call.objects.for_list().filter(pk__in=newest).order_by("-started_at", "-pk")


# A newest-first search of the log, for a person who sees every business, on PostgreSQL:
# the page's rows compiled once per shape (which filters, how many words, whether a
# number): building and compiling that query took a quarter of the page.
SEARCH_PAGE = Statement(
    _search_rows,
    shape=("size", "withheld", "window", "along"),
    after_key=datetime,
    after_pk=int,
    edge=datetime,
    **{name: kind for name, (_, kind) in CallFilter.NARROWING.items()},
    **SEARCH_VALUES,
)


def _compiled_search(calls, every_business: bool) -> dict | None:
    """The values of SEARCH_PAGE for this valid filter, or None when the page is asked of
    the QuerySet instead: a person limited to some businesses, SQLite, a word with very
    many callers, a "Caller" box that finds no caller or too many."""
    data = calls.form.cleaned_data
    if not every_business or connection.vendor != "postgresql" or not calls.searches():
        return None
    matched = {"window": False}
    if data.get("q"):
        matched = search.compiled_values(data["q"], callers=not calls.words_only)
        if matched is None:
            return None
    if data.get("who"):
        if calls.many_callers or not calls.who_found:
            return None
        # The calls of a few callers: through the caller index and sorted. Walked along
        # the log, the calls of 24 callers named "Jack Smith" lay behind 57,000 others.
        who = [caller.pk for caller in calls.who_found]
        matched = {**matched, "who_callers": who, "window": False}
    return matched


def _search_values(calls, matched: dict):
    """`values(after=None)`: what SEARCH_PAGE (and RANKED) run with for this search, after
    a cursor's (started_at, id) when one is given."""
    values = {**calls.narrowing(), **matched, "withheld": calls.only_withheld()}
    along = values["along"] = CallFilter.walk_along(values) if matched["window"] else None
    # A first page walked from the newest call (of the whole log, or with the value of the
    # filter walked along): its window's edge is known (search.recent_edge).
    newest = matched["window"] and not any(name in values for name in CallFilter.WALKED_BY)
    column = (CallFilter.NARROWING[along][0], values[along]) if along else None

    def run_values(after=None):
        if newest and after is None:
            return {**values, "edge": search.recent_edge(Call.objects, column)}
        return {**values, **cursor_values(after)}

    return run_values


def _read_search(calls, matched: dict):
    """read_rows (receptionist.pagination.keyset_read) of a compiled search's pages."""
    values = _search_values(calls, matched)
    return lambda n, after=None: SEARCH_PAGE.all(size=n, **values(after))


# "Best match first", compiled: the `size` newest matches of a search (SEARCH_PAGE's
# query), each with its relevance, read as (id, relevance). Building and compiling the
# ranked QuerySet took half the page; ranking the matches found by joining them again
# cost a tenth of it.
RANKED = Statement(
    partial(_newest_found, ranked=True),
    shape=("size", "withheld", "window", "along"),
    **SEARCH_PAGE.kinds,
)


def _read_ranked(calls, matched: dict):
    """read_rows of a compiled "Best match first": the RANKED_MATCHES newest matches,
    ranked (RANKED), best first, then newest; a page's cursor is its last row's
    (relevance, id). The same calls in the same order as search.ranked's QuerySet."""
    values = _search_values(calls, matched)

    def read_rows(n, after=None):
        scored = sorted(
            (
                (relevance, pk)
                for pk, relevance in RANKED.rows(size=search.RANKED_MATCHES, **values())
            ),
            reverse=True,
        )
        if after is not None:
            scored = [key for key in scored if key < after]
        relevance = {pk: value for value, pk in scored[:n]}
        rows = LOG_ROWS.of(list(relevance))
        for row in rows:
            row.relevance = relevance[row.pk]
        return rows

    return read_rows


@permission_required("calls.view_call", raise_exception=True)
def call_list(request):
    visible = Call.objects.for_user(request.user).for_list()
    calls = CallFilter(request.GET, queryset=visible, request=request)
    page = log_page(request, calls, visible, settings.CALLS_PAGE_SIZE)
    context = {
        "filter": calls,
        "page": page,
        "business_names": business_names(),
        "shortcuts": _date_shortcuts(request),
        **_caller_control(request, calls, page),
    }
    # Drawn by Jinja2 (jinja/calls/): the whole page, or the part htmx asks for.
    template = "calls/call_list.html"
    if request.htmx and request.GET.get("cursor"):
        template = "calls/call-rows.html"
    elif request.htmx:
        template = "calls/call-results.html"
    return render(request, template, context)


def log_page(request, calls, visible, size):
    """The call log's page of `size` rows for this filter (None when it cannot be read),
    after the request's cursor: the same reading for the log and for the search box."""
    page = None
    valid = calls.is_valid()
    every_business = Business.objects.ids_for(request.user) is None
    if valid and not calls.searches() and every_business:
        page = keyset_read(
            request,
            LOG_PAGE.reader(withheld=calls.only_withheld(), **calls.narrowing()),
            model=Call,
            key="started_at",
            size=size,
        )
    elif (
        valid
        and LOG_ROWS.most > size
        and (matched := _compiled_search(calls, every_business)) is not None
    ):
        if calls.form.cleaned_data.get("sort") == "best" and calls.form.cleaned_data.get("q"):
            page = keyset_read(
                request,
                _read_ranked(calls, matched),
                model=Call,
                key="relevance",
                size=size,
                field=FloatField(),
            )
        else:
            page = keyset_read(
                request, _read_search(calls, matched), model=Call, key="started_at", size=size
            )
    elif valid:
        found, key, ids_first = calls.page_order(calls.qs)
        page = keyset_paginate(
            request,
            found,
            key=key,
            descending=True,
            size=size,
            ids_first=ids_first,
            rows=LOG_ROWS.of if every_business and size < LOG_ROWS.most else visible,
        )
    return page


# The callers the "Caller" box offers as it is typed.
CALLER_CHOICES = 6


def _caller_control(request, calls, page) -> dict:
    """The "Caller" box: the caller picked (by id), or the callers what was typed finds,
    each a link that narrows the log to that one caller."""
    if not calls.is_valid() or request.GET.get("cursor"):
        return {}
    data = calls.form.cleaned_data
    visible = Caller.objects.for_user(request.user)
    if data.get("caller"):
        # The picked caller came with their calls (each row reads its caller); asked for
        # only when none of their calls is shown.
        shown = page.items[0].caller if page and page.items else None
        return {
            "chosen_caller": shown or visible.filter(pk=data["caller"]).first(),
            "every_caller_query": query_with(request.GET, caller=None, who=None, cursor=None),
        }
    if not data.get("who"):
        return {}
    if calls.many_callers or not calls.who_found:
        return {"many_callers": calls.many_callers}
    # The callers the filter found, by name: the first few, with their numbers.
    choices = [
        {
            "caller": caller,
            "query": query_with(request.GET, caller=caller.pk, who=caller.name, cursor=None),
        }
        for caller in calls.who_found[:CALLER_CHOICES]
    ]
    return {
        "caller_choices": choices,
        "more_callers": len(calls.who_found) > CALLER_CHOICES,
    }


def _date_shortcuts(request) -> list[dict]:
    """Links to today's, yesterday's and this week's calls, keeping the other filters."""
    chosen = (request.GET.get("date_from"), request.GET.get("date_to"))
    links = []
    for label, first, last in date_shortcuts(timezone.localdate()):
        dates = (first.isoformat(), last.isoformat())
        query = query_with(request.GET, date_from=dates[0], date_to=dates[1], cursor=None)
        links.append(
            {
                "label": label,
                "query": query,
                "from": dates[0],
                "to": dates[1],
                "current": chosen == dates,
            }
        )
    return links


# A call's page, compiled once (receptionist/statements.py).
CALL_PAGE = Statement(lambda pk: Call.objects.for_page().filter(pk=pk), pk=int)


@permission_required("calls.view_call", raise_exception=True)
def call_detail(request, pk):
    call = record_or_404(
        CALL_PAGE,
        lambda: Call.objects.for_user(request.user).for_page().filter(pk=pk),
        every_business=Business.objects.ids_for(request.user) is None,
        pk=pk,
    )
    escalations = []
    if call.has_escalations:
        escalations = list(
            call.escalations.visible_to(request.user)
            .select_related("resolved_by", "acknowledged_by")
            .order_by("-raised_at")
        )
    callbacks = []
    if call.has_callbacks:
        # Through the reverse relation that followups adds to Call: calls does not import it.
        callbacks = list(call.callbacks.select_related("claimed_by", "closed_by").order_by("pk"))
    delivery, steps = None, []
    if call.delivery_state:
        # The delivery log of an urgent message, through the reverse relation too.
        delivery = getattr(call, "delivery", None)
        steps = list(delivery.steps.all()) if delivery is not None else []
    return render(
        request,
        "calls/call_detail.html",
        {
            "call": call,
            "several_businesses": len(active_businesses()) > 1,
            "changes": audit_trail(call),
            "escalations": escalations,
            "callbacks": callbacks,
            "delivery": delivery,
            "delivery_steps": steps,
            "delivery_call": call,
            "staff": True,
        },
    )


@permission_required("calls.change_call", raise_exception=True)
def call_edit(request, pk):
    call = get_object_or_404(
        Call.objects.for_user(request.user).select_related("caller", "taken_by"), pk=pk
    )
    conflict, status = None, 200
    if request.method == "POST":
        form = CallForm(request.POST, instance=call, creating=False)
        expected_version = posted_version(request.POST)
        if expected_version is None:
            # A forged or broken form: saving it could overwrite anyone's edit. Show what
            # was typed, with the reason, and nothing to save it with.
            form.is_valid()
            form.add_error(None, VERSION_UNKNOWN.format(what="call"))
            status = 400
        elif form.is_valid():
            try:
                call_update(
                    call_id=call.pk,
                    expected_version=expected_version,
                    user=request.user,
                    changes={name: form.cleaned_data[name] for name in CALL_FIELDS},
                )
            except CallConflict as exc:
                conflict = exc.current
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Call saved.")
                return redirect(call)
        version = expected_version
    else:
        form = CallForm(instance=call, creating=False)
        version = call.version
    clashes = []
    if conflict is not None:
        # What this person changed stays in the form; what only the other person changed
        # comes in; what both changed differently is marked. Saving again goes on top of
        # the newer version without undoing the other edit.
        typed = {name: form.cleaned_data[name] for name in CALL_FIELDS}
        merged, clashes = three_way(
            base=read_base(request.POST.get("base")), mine=typed, theirs=conflict
        )
        form = CallForm(initial=merged, instance=conflict, creating=False)
        version = conflict.version
        messages.warning(
            request,
            "Someone else saved this call while you were editing it. Nothing was saved yet: "
            "your changes are in the form, with theirs where you had not changed anything. "
            "Check, then save again.",
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
            "clashes": [form[name].label for name in clashes],
            "base": form_base(request, call, CALL_FIELDS, conflict=conflict),
            "cancel_url": reverse("calls:detail", args=[call.pk]),
        },
        status=409 if conflict is not None else status,
    )


@permission_required("calls.add_escalation", raise_exception=True)
def call_escalate(request, pk):
    call = get_object_or_404(Call.objects.for_user(request.user).select_related("caller"), pk=pk)
    status = 200
    if request.method == "POST":
        form = EscalateForm(request.POST)
        if form.is_valid():
            try:
                escalation_raise(
                    call=call,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    playbook_steps=form.cleaned_data["playbook_steps"],
                )
            except EscalationAlreadyOpen as exc:
                # Someone flagged it first: say who, and keep the note typed (nothing sent).
                form.add_error(None, _already_open(exc))
                status = 409
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "A manager has been flagged for this call.")
                return redirect(call)
    else:
        open_one = call.escalations.unresolved().select_related("raised_by").first()
        if open_one is not None:
            messages.info(request, _already_open(EscalationAlreadyOpen(open_one)))
            return redirect(call)
        form = EscalateForm()
    return render(
        request, "calls/escalation_raise.html", {"call": call, "form": form}, status=status
    )


def _already_open(exc: EscalationAlreadyOpen) -> str:
    raised_at = timezone.localtime(exc.escalation.raised_at)
    return (
        f"{display_name(exc.by)} flagged this call for a manager at {raised_at:%H:%M}: it "
        "already has an open escalation. Your note was not sent; add it to the call's notes "
        "if it matters."
    )
