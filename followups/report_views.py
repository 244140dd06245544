"""The manager's dashboard (/dashboard/, a receptionist's "my day" there), the minutes
report (/reports/minutes/) and its CSV statements.

The figures come from followups.reports (sums of the tallies, by the database); these views
read the range and the business from the URL, so that a view can be bookmarked, and draw.
"""

import math
from collections import namedtuple
from datetime import date, datetime, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.html import json_script
from django.views.decorators.http import require_GET
from markupsafe import Markup

from callers.models import BillingRule, Business, Caller, business_names, every_business_name
from calls.models import Call, Escalation
from followups import reports
from followups.export import audit_export, stream_csv
from followups.models import Callback
from followups.portal import month_bounds
from receptionist.rendering import render
from receptionist.roles import display_name
from receptionist.statements import Statement
from receptionist.templatetags.words import duration

PRESETS = (("Today", 0), ("7 days", 6), ("30 days", 29), ("90 days", 89))


class RangeForm(forms.Form):
    """Which business and days a report covers (GET: the URL is the bookmark)."""

    # The names of the businesses kept by the process (callers.models.every_business_name):
    # the select of 20 businesses read and built as model instances cost as much as
    # PostgreSQL's answer to the 90-day sums. `clean_business` reads the one picked.
    business = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    # Left empty (a fresh page, "?business=2"): today, on the days' clock.
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        limited = Business.objects.ids_for(user)
        names = every_business_name()
        self.fields["business"].choices = [
            ("", "Every business"),
            *sorted(
                ((pk, name) for pk, name in names.items() if limited is None or pk in limited),
                key=lambda choice: (choice[1], choice[0]),
            ),
        ]
        for field in self.fields.values():
            field.widget.attrs["class"] = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )

    def clean_business(self):
        """The business picked (None: every one), if it is still there."""
        pk = self.cleaned_data["business"]
        if pk is None:
            return None
        business = Business.objects.filter(pk=pk).first()
        if business is None:
            raise ValidationError("That business is no longer there.", code="invalid_choice")
        return business

    def clean(self):
        data = super().clean()
        if self.errors or (data.get("start") is None and data.get("end") is None):
            return data
        try:
            reports.check_range(data.get("start"), data.get("end"))
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                if field not in self.errors:
                    self.add_error(field, errors)
        return data


def _span(request, *, quiet=False) -> tuple[RangeForm, reports.Range, object]:
    """The form as typed, and what it names: the business (None: every one the person
    works for), the days (today where they cannot be read), and the time zone of the
    days (the business's; a person limited to one business, its; else the office's).
    What cannot be read is said on its field and, unless `quiet`, above the page."""
    user = request.user
    limited = Business.objects.ids_for(user)
    form = RangeForm(request.GET or None, user=user)
    business = None
    first = last = None
    if request.GET:
        valid = form.is_valid()
        data = form.cleaned_data
        business = data.get("business")
        first, last = data.get("start"), data.get("end")
        if not valid and not quiet:
            what = [
                label
                for field, label in (("business", "that business"), ("start", "that range"))
                if field in form.errors or (field == "start" and "end" in form.errors)
            ]
            messages.error(
                request, f"{' and '.join(what).capitalize()} cannot be shown: see below."
            )
    if business is not None:
        zone = business.zone
    elif limited is not None and len(limited) == 1:
        zone = Business.objects.get(pk=limited[0]).zone
    else:
        zone = timezone.get_default_timezone()
    if first is None or last is None:
        first = last = timezone.localdate(timezone.now(), zone)
    if not form.is_bound or not (form.data.get("start") or form.data.get("end")):
        # The boxes show the days shown (today), not empty required boxes.
        data = form.data.copy() if form.is_bound else {}
        data.update({"start": first.isoformat(), "end": last.isoformat()})
        form = RangeForm(data, user=user)
        form.is_valid()
    ids = [business.pk] if business is not None else limited
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return form, reports.Range(ids, first, last, start, end), business


def _talk(seconds) -> str:
    if seconds is None:
        return "none yet"
    if seconds == math.inf:
        return "longer"
    return duration(timedelta(seconds=round(seconds)))


@require_GET
def dashboard(request):
    """Managers: how the front desk is doing; receptionists: their day."""
    if request.user.has_perm("followups.view_reports"):
        return _manager_dashboard(request)
    if request.user.has_perm("calls.add_call"):
        return _my_day(request)
    raise PermissionDenied("The dashboard is the front desk's.")


def _manager_dashboard(request):
    form, span, business = _span(request)
    zone = span.start.tzinfo
    figures = reports.dashboard(span, timezone.now())
    people = figures["people"]
    users = {u.pk: u for u in _people([pk for pk in people if pk is not None])}
    person_rows = sorted(
        (
            (display_name(users.get(pk), "Nobody (the sweeps)"), row, _talk(row["median_talk"]))
            for pk, row in people.items()
        ),
        key=lambda item: (-item[1]["calls"], item[0]),
    )
    natures = figures["natures"]
    single_day = span.first == span.last
    if single_day:
        series = [(f"{hour:02d}:00", counts) for hour, counts in enumerate(figures["hours"])]
    else:
        series = [(day.isoformat(), counts) for day, counts in figures["days"]]
    # The table of the chart, drawn here: whole numbers and ISO dates need no escaping,
    # and escaping each of a 90-day table's 540 cells was a fifth of the page's time.
    table = Markup(
        "".join(
            f'<tr><th scope="row" class="text-start">{label}</th>'
            + "".join(f"<td>{int(n)}</td>" for n in counts)
            + f"<td>{int(sum(counts))}</td></tr>"
            for label, counts in series
        )
    )
    chart = {
        "labels": [label for label, _ in series],
        "natures": [label for _, label in natures],
        "counts": [[counts[n] for _, counts in series] for n in range(len(natures))],
        "urgencies": figures["urgencies"],
        "moods": figures["moods"],
    }
    today = timezone.localdate(timezone.now(), zone)
    presets = [
        (
            label,
            f"?business={business.pk if business else ''}"
            f"&start={today - timedelta(days=back)}&end={today}",
        )
        for label, back in PRESETS
    ]
    return render(
        request,
        "followups/dashboard.html",
        {
            "form": form,
            "span": span,
            "single_day": single_day,
            "series": series,
            "table": table,
            "figures": figures,
            "natures": natures,
            "person_rows": person_rows,
            "query": request.GET.urlencode(),
            "median_talk": _talk(figures["median_talk"]),
            "median_ack": _talk(figures["escalations"]["median_ack"]),
            "median_back": _talk(figures["callbacks"]["median_back"]),
            "chart": json_script(chart, "dashboard-chart"),
            "presets": presets,
            "business_label": business,
        },
    )


@require_GET
def repeat_callers(request):
    """The dashboard's repeat callers for its range (asked for by the page, after it)."""
    if not request.user.has_perm("followups.view_reports"):
        raise PermissionDenied("The dashboard's figures are the managers'.")
    _form, span, _business = _span(request, quiet=True)
    found = reports.repeat_callers(span)
    callers = Caller.objects.only("name").in_bulk([pk for pk, _ in found["top"]])
    return render(
        request,
        "followups/repeat-callers.html",
        {"count": found["count"], "top": [(callers.get(pk), n) for pk, n in found["top"]]},
    )


def _people(ids):
    """The people of the table "By receptionist", with only what names them."""
    return get_user_model().objects.filter(pk__in=ids).only("username", "first_name", "last_name")


# "My day", compiled once (receptionist.statements): building the three QuerySets took
# longer than PostgreSQL took to answer them. Each list stops at MY_DAY_MOST rows; the
# calls and callbacks are read as plain rows (not model instances).
MY_DAY_MOST = 50
MyCall = namedtuple("MyCall", "pk started_at summary business_id caller_name")
MyCallback = namedtuple("MyCallback", "pk due_at reason business_id caller_name")


def _my_calls(calls, person, start):
    return (
        calls.filter(taken_by_id=person, started_at__gte=start)
        .order_by("-started_at", "-pk")
        .values(*MyCall._fields[:-1], "caller__name")[:MY_DAY_MOST]
    )


def _my_callbacks(callbacks, person):
    return (
        callbacks.active()
        .filter(Q(assigned_to_id=person) | Q(claimed_by_id=person))
        .order_by("due_at", "pk")
        .values(*MyCallback._fields[:-1], "caller__name")[:MY_DAY_MOST]
    )


def _my_escalations(escalations, person):
    return (
        escalations.filter(raised_by_id=person)
        .select_related("call__caller")
        .only("raised_at", "status", "reason", "debrief", "resolved_at", "call__caller__name")
        .order_by("-raised_at", "-pk")[:10]
    )


MY_CALLS = Statement(
    lambda person, start: _my_calls(Call.objects.all(), person, start), person=int, start=datetime
)
MY_CALLBACKS = Statement(lambda person: _my_callbacks(Callback.objects.all(), person), person=int)
MY_ESCALATIONS = Statement(
    lambda person: _my_escalations(Escalation.objects.all(), person), person=int
)


def _my_day(request):
    """A receptionist's day: their calls today, their open and overdue callbacks, their
    escalations waiting and the debriefs they were given."""
    user, now = request.user, timezone.now()
    zone = timezone.get_current_timezone()
    today = timezone.localdate(now)
    start = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    if Business.objects.ids_for(user) is None:
        # The compiled statements hold no business filter: for people who see every one.
        calls = MY_CALLS.rows(person=user.pk, start=start)
        callbacks = MY_CALLBACKS.rows(person=user.pk)
        escalations = MY_ESCALATIONS.all(person=user.pk)
    else:
        calls = [row.values() for row in _my_calls(Call.objects.for_user(user), user.pk, start)]
        callbacks = [
            row.values() for row in _my_callbacks(Callback.objects.for_user(user), user.pk)
        ]
        escalations = list(_my_escalations(Escalation.objects.for_user(user), user.pk))
    calls = [MyCall._make(row) for row in calls]
    callbacks = [MyCallback._make(row) for row in callbacks]
    return render(
        request,
        "followups/my_day.html",
        {
            "calls": calls,
            "callbacks": callbacks,
            "overdue": sum(callback.due_at < now for callback in callbacks),
            "escalations": escalations,
            "most": MY_DAY_MOST,
            "now": now,
            "today": today,
            "names": business_names(),
        },
    )


# The minutes report -------------------------------------------------------------------


def _month(request, *, refuse=False) -> tuple[str, date, date]:
    """The month asked for (?month=YYYY-MM, this month by default) and its first and last
    days; a month that cannot be read says so and shows this month, or, `refuse`d (a
    file), is a 400."""
    this_month = timezone.localdate().strftime("%Y-%m")
    asked = request.GET.get("month", this_month)
    bounds = month_bounds(asked, timezone.get_default_timezone())
    if bounds is None and refuse:
        raise BadRequest("A month is written like 2026-11.")
    if bounds is None:
        messages.error(request, "A month is written like 2026-11: showing this month.")
        asked, bounds = this_month, month_bounds(this_month, timezone.get_default_timezone())
    return asked, bounds[0].date(), bounds[1].date() - timedelta(days=1)


def _month_rows(user, first: date, last: date) -> list[dict]:
    """Each business's calls, talk time and billable minutes in the month (of its days)."""
    limited = Business.objects.ids_for(user)
    businesses = Business.objects.for_user(user).only("name", "billing_rule").order_by("name")
    span = reports.Range(limited, first, last, None, None)
    names = ("calls", "seconds", "minutes_up", "sixths_up")
    sums = {
        row[0]: dict(zip(names, row[1:], strict=True))
        for row in reports.tally_sums(names, span, "business_id")
    }
    rows = []
    for business in businesses:
        figures = sums.get(business.pk, dict.fromkeys(names, 0))
        rows.append(
            {
                "business": business,
                "calls": figures["calls"],
                "seconds": figures["seconds"],
                "talk": _hms(figures["seconds"]),
                "billable": reports.billable_minutes(
                    business.billing_rule,
                    **{name: figures[name] for name in ("seconds", "minutes_up", "sixths_up")},
                ),
                "rule": BillingRule(business.billing_rule).label,
            }
        )
        rows[-1]["billable_text"] = reports.minutes_text(rows[-1]["billable"])
    return rows


def _hms(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


@require_GET
@permission_required("followups.view_reports", raise_exception=True)
def minutes(request):
    """Per business, one month: calls, talk time and billable minutes under its rule."""
    month, first, last = _month(request)
    previous = (
        (first - timedelta(days=1)).strftime("%Y-%m")
        if first.year > 2000 or first.month > 1
        else None
    )
    following = (last + timedelta(days=1)).strftime("%Y-%m")
    return render(
        request,
        "followups/minutes.html",
        {
            "rows": _month_rows(request.user, first, last),
            "month": month,
            "first": first,
            "previous": previous,
            "following": following if following <= timezone.localdate().strftime("%Y-%m") else None,
        },
    )


@require_GET
@permission_required("followups.export_data", raise_exception=True)
def minutes_statement(request, pk: int):
    """One business's month as a CSV statement: each day's calls and talk time, then the
    month's billable minutes under the business's rule."""
    business = Business.objects.for_user(request.user).filter(pk=pk).first()
    if business is None:
        raise Http404("No such business.")
    month = request.GET.get("month", timezone.localdate().strftime("%Y-%m"))
    bounds = month_bounds(month, business.zone)
    if bounds is None:
        raise BadRequest("A month is written like 2026-11.")
    first, last = bounds[0].date(), bounds[1].date() - timedelta(days=1)
    days = reports.minutes_by_day(business.pk, first, last)
    total = {name: sum(day[name] for day in days) for name in ("calls", "seconds")}
    billable = reports.billable_minutes(
        business.billing_rule,
        seconds=total["seconds"],
        minutes_up=sum(day["minutes_up"] for day in days),
        sixths_up=sum(day["sixths_up"] for day in days),
    )

    def lines():
        yield ["Month", month]
        yield ["Billing", BillingRule(business.billing_rule).label]
        yield []
        yield ["Day", "Calls", "Talk seconds", "Talk time"]
        for day in days:
            yield [day["day"], day["calls"], day["seconds"], _hms(day["seconds"])]
        yield ["Total", total["calls"], total["seconds"], _hms(total["seconds"])]
        yield ["Billable minutes", reports.minutes_text(billable)]

    audit_export(request, f"minutes statement of {business.name} for {month}")
    return stream_csv(["Business", business.name], lines(), f"minutes-{business.pk}-{month}.csv")


@require_GET
@permission_required("followups.export_data", raise_exception=True)
def minutes_csv(request):
    """The minutes report of a month as CSV."""
    month, first, last = _month(request, refuse=True)
    rows = _month_rows(request.user, first, last)

    def lines():
        for row in rows:
            yield [
                row["business"].name,
                month,
                row["calls"],
                row["seconds"],
                reports.minutes_text(row["billable"]),
                row["rule"],
            ]

    audit_export(request, f"minutes report for {month}")
    header = ["Business", "Month", "Calls", "Talk seconds", "Billable minutes", "Billing"]
    return stream_csv(header, lines(), f"minutes-{month}.csv")
