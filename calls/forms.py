"""Forms of the calls app: the call form (new and edit) and the call log filters."""

import copy
import uuid
from datetime import date, datetime, time, timedelta
from functools import cached_property, partial

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Q
from django.http import QueryDict
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from callers.forms import PhoneField
from callers.models import Business, Caller, NumbersOf, active_businesses
from calls import search
from calls.models import (
    PLAYBOOK,
    Call,
    CautionDecision,
    Direction,
    Escalation,
    Mood,
    Nature,
    Outcome,
    Urgency,
)
from receptionist.bounds import plausible_date_validators
from receptionist.forms import (
    LocalDateTimeField,
    LocalDateTimeInput,
    ManagerChoiceField,
    StaffChoices,
)
from receptionist.roles import MANAGERS, display_name, front_desk_staff, managers, staff_choices
from receptionist.statements import Statement


class KeyRadioSelect(forms.RadioSelect):
    """A row of radio buttons, each picked with one key while the group has focus.

    The keys are shown on the buttons; static/js/app.js handles the key presses.
    """

    template_name = "calls/widgets/key_radio.html"

    def __init__(self, shortcuts: dict[str, str], attrs=None):
        super().__init__(attrs)
        self.shortcuts = shortcuts

    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        option["shortcut"] = self.shortcuts.get(option["value"], "")
        return option


def with_bootstrap_classes(form: forms.Form) -> None:
    """Give each widget of a form drawn by hand (receptionist/formfields.py) Bootstrap's
    class for it."""
    bootstrap_fields(form.fields)


def bootstrap_fields(fields) -> None:
    """with_bootstrap_classes for a dict of fields (a form class's base_fields)."""
    for field in fields.values():
        if css := widget_class(field.widget):
            field.widget.attrs["class"] = css


def widget_class(widget: forms.Widget) -> str:
    """Bootstrap's class for a widget drawn by hand (receptionist/formfields.py)."""
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.RadioSelect | forms.HiddenInput):
        return ""
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


CALL_FIELDS = [
    "phone",
    "started_at",
    "ended_at",
    "direction",
    "nature",
    "urgency",
    "mood",
    "summary",
    "wants",
    "promised",
    "message",
    "notes",
    "outcome",
]


CALLBACK_FIELDS = [
    "callback",
    "callback_due_at",
    "callback_promise",
    "callback_window",
    "attach_to",
]


# What the promise preview (followups.views.promise_preview) reads from the call form. It
# answers out-of-band swaps of the due time, the words to say and a note.
PROMISE_PREVIEW = {
    "hx-get": reverse_lazy("callbacks:promise"),
    "hx-include": (
        "#fieldset_nature, #fieldset_urgency, #id_callback, #id_callback_due_at, "
        "#id_callback_promise, #id_callback_due_edited, #id_callback_words_shown, #id_caller, "
        "#id_business"
    ),
    "hx-swap": "none",
    "hx-sync": "this:replace",
}


class CallForm(forms.ModelForm):
    """The call form. New calls also name the caller: a match from the lookup or a new name."""

    caller = forms.ModelChoiceField(
        queryset=Caller.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={
            "invalid_choice": "The chosen caller no longer exists (merged or removed): pick "
            "again from the list."
        },
    )
    escalate = forms.BooleanField(
        label="Flag for a manager",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        help_text="On by default for angry callers, always on for abuse.",
    )
    playbook_steps = forms.MultipleChoiceField(
        label="What was tried",
        choices=PLAYBOOK,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    escalation_reason = forms.CharField(
        label="What the manager should know",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    callback = forms.BooleanField(
        label="Call back",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        help_text="A promise to call back, kept in the callback queue until it is kept.",
    )
    callback_due_at = LocalDateTimeField(
        label="Call back by",
        required=False,
        widget=LocalDateTimeInput(seconds=False),
        help_text="The callback policy's time for this call: change it if needed.",
    )
    callback_promise = forms.CharField(
        label="What to tell the caller",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    callback_window = forms.CharField(
        label="Caller's preferred window",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. after 5 pm"}),
    )
    # Set by the promise preview once the due time was changed by hand: from then on a new
    # nature or urgency changes the words to say, not the time.
    callback_due_edited = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # The words the promise preview last wrote: words still equal to them are its to replace.
    callback_words_shown = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    # The caller's open callback this call belongs to (offered by the open-callback notice).
    attach_to = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    # One key per form shown: sent twice (a double click, a retry), it logs one call.
    submission_key = forms.UUIDField(required=False, widget=forms.HiddenInput)
    caller_name = forms.CharField(
        label="Caller's name",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # Instead of a number: call_log then finds the caller by name, or records an unknown one.
    number_withheld = forms.BooleanField(
        label="Number withheld",
        required=False,
        widget=forms.CheckboxInput(attrs={"aria-keyshortcuts": "Alt+W"}),
    )
    # When the form was first opened, kept through a refused save: the timer goes on timing
    # the call from there when the start time typed cannot be read.
    opened_at = LocalDateTimeField(required=False, widget=forms.HiddenInput)
    # The business the call is for, when several are active (an answering service): set
    # from the number dialed (?dialed=), else picked. With one, the field is not there.
    business = forms.TypedChoiceField(
        label="Business",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={
            "required": "Which business is this call for? Pick it.",
            "invalid_choice": "That business is not one this call can be for (inactive, or "
            "not one you work for): pick one of the list.",
        },
    )

    class Meta:
        model = Call
        fields = CALL_FIELDS
        widgets = {
            "phone": forms.TextInput(
                attrs={
                    "type": "tel",
                    "autocomplete": "off",
                    "autofocus": True,
                    "placeholder": "(212) 555-0147",
                }
            ),
            "direction": KeyRadioSelect({"inbound": "i", "outbound": "o"}),
            "nature": KeyRadioSelect(
                {"sales": "s", "appointment": "a", "urgent": "u", "other": "o"}
            ),
            "urgency": KeyRadioSelect({"low": "l", "normal": "n", "high": "h", "emergency": "e"}),
            "mood": KeyRadioSelect({"calm": "c", "upset": "u", "angry": "a", "abusive": "b"}),
            "summary": forms.TextInput(attrs={"autocomplete": "off"}),
            "wants": forms.Textarea(attrs={"rows": 2}),
            "promised": forms.Textarea(attrs={"rows": 2}),
            "message": forms.Textarea(attrs={"rows": 2, "placeholder": "Sent to the business"}),
            "notes": forms.Textarea(attrs={"rows": 2, "placeholder": "Never shown to them"}),
        }
        labels = {
            "message": "Message for the business",
            "notes": "Internal notes",
        }
        field_classes = {
            "started_at": LocalDateTimeField,
            "ended_at": LocalDateTimeField,
            "phone": PhoneField,
        }
        help_texts = {
            "ended_at": "Left empty, the call ends when it is saved.",
        }

    # The callback fields ask the promise preview with these too (nature, urgency, the box).
    promise_preview_include = PROMISE_PREVIEW["hx-include"]

    # Where a refused save puts the cursor: the first of these with an error, in the order
    # the form shows them (a hidden field's error lands on the field that shows it).
    FOCUS_ORDER = [
        "business",
        "phone",
        "caller_name",
        "nature",
        "urgency",
        "mood",
        "summary",
        "outcome",
        "wants",
        "promised",
        "message",
        "notes",
        "callback",
        "callback_due_at",
        "callback_promise",
        "callback_window",
        "direction",
        "started_at",
        "ended_at",
        "escalate",
        "playbook_steps",
        "escalation_reason",
    ]
    FOCUS_INSTEAD = {"caller": "caller_name", "attach_to": "callback"}

    def __init__(self, *args, user=None, creating=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        if creating:
            if not self.is_bound:
                self.initial.setdefault("submission_key", uuid.uuid4())
                self.initial.setdefault("opened_at", self.initial.get("started_at"))
            self.fields["caller"].queryset = Caller.objects.for_user(user)
            # Not required here: call_log asks for a number or "Number withheld".
            self.fields["phone"].required = False
            allowed = Business.objects.ids_for(user) if user is not None else None
            self.businesses = [
                business
                for business in active_businesses()
                if allowed is None or business.pk in allowed
            ]
            if len(self.businesses) > 1:
                field = self.fields["business"]
                field.required = True
                field.choices = [("", "Pick the business…")] + [
                    (business.pk, business.name) for business in self.businesses
                ]
                field.widget.attrs.update({"data-business-picker": ""})
            else:
                del self.fields["business"]
            # Search as you type: the lookup panel beside the form follows phone and name.
            lookup = {
                "hx-get": reverse("callers:lookup"),
                "hx-target": "#caller-lookup",
                "hx-include": "#id_phone, #id_caller_name, #id_caller, #id_number_withheld, "
                "#id_business",
                "hx-sync": "closest form:replace",
            }
            self.fields["phone"].widget.attrs.update(
                lookup, **{"hx-trigger": "input changed delay:250ms, load"}
            )
            self.fields["caller_name"].widget.attrs.update(
                lookup, **{"hx-trigger": "input changed delay:300ms"}
            )
            self.fields["number_withheld"].widget.attrs.update(lookup, **{"hx-trigger": "change"})
            if "business" in self.fields:
                # Another business: other callers (the panel asks again).
                self.fields["business"].widget.attrs.update(lookup, **{"hx-trigger": "change"})
            # A due time changed by hand is kept from then on; the words follow it.
            self.fields["callback_due_at"].widget.attrs.update(
                PROMISE_PREVIEW,
                **{"hx-trigger": "change", "hx-vals": '{"callback_due_edited": "true"}'},
            )
        else:
            # call_update asks for the end time: on an edit nothing fills it in by itself.
            self.fields["ended_at"].help_text = ""
            for name in (
                "business",
                "caller_name",
                "number_withheld",
                "opened_at",
                "escalate",
                "playbook_steps",
                "escalation_reason",
                "callback_due_edited",
                "callback_words_shown",
                "submission_key",
                *CALLBACK_FIELDS,
            ):
                del self.fields[name]
        with_bootstrap_classes(self)

    def chosen_business(self):
        """The active business picked (a valid form's), or None when there is one only."""
        pk = self.cleaned_data.get("business") if "business" in self.fields else None
        return next((b for b in self.businesses if b.pk == pk), None)

    def shown_business(self):
        """The business whose greeting the form shows: the one picked or dialed, or the
        only active one."""
        if "business" not in self.fields:
            return self.businesses[0] if self.businesses else None
        try:
            pk = int(self["business"].value())
        except (TypeError, ValueError):
            return None
        return next((b for b in self.businesses if b.pk == pk), None)

    def set_focus(self) -> None:
        """Put the cursor where the receptionist is needed: on the first field with an error
        (a refused save says what stops it, there), else where the form starts: the business
        picker while no business is known, else the number."""
        wrong = {self.FOCUS_INSTEAD.get(name, name) for name in self.errors}
        first = next((name for name in self.FOCUS_ORDER if name in wrong), None)
        if first is None and "business" in self.fields and self.shown_business() is None:
            first = "business"
        if first is None or first not in self.fields:
            return
        self.fields["phone"].widget.attrs.pop("autofocus", None)
        self.fields[first].widget.attrs["autofocus"] = True

    def _post_clean(self):
        # No model validation here: call_log and call_update validate the call (fields, times,
        # constraints) before saving it, and their refusals land on this form's fields. Done
        # here too, it cost a query per check constraint on every save.
        pass

    # No clean(): every rule of a call (who is calling, the callback behind "callback
    # scheduled", times that make sense, abuse always escalated) is call_log's and the
    # model's. The view puts their refusals on this form's fields.


class StaffChoiceField(StaffChoices, django_filters.fields.ModelChoiceField):
    """A person of the front desk, for a filter bar (receptionist.forms.StaffChoices).

    A filter only narrows what this person may already see, so a person the picker offers
    (read once per process) is taken without asking the database again; anyone else is
    checked there, as a form field would."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        # Only the ids the picker sends: Python's int() also reads "٣" and "0_3" as 3,
        # which would filter by a person while the picker shows "Anyone".
        # At most 19 digits (a bigint): Python refuses int() of over 4,300 digits.
        if not (
            isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19
        ):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        pk = int(value)
        if pk in {person for person, _ in staff_choices(*self.staff_groups)}:
            return self.queryset.model(pk=pk)
        return super().to_python(value)


class ManagerFilterField(StaffChoiceField):
    """A manager, for a filter bar."""

    staff_groups = (MANAGERS,)


class StaffFilter(django_filters.ModelChoiceFilter):
    field_class = StaffChoiceField


class ManagerFilter(django_filters.ModelChoiceFilter):
    field_class = ManagerFilterField


class AsciiIntegerField(forms.IntegerField):
    """A whole number in ASCII digits: Python's int() also reads "١٢" (Arabic-Indic) and
    "1_2" as 12, which no link of this app makes."""

    def to_python(self, value):
        if isinstance(value, str) and (not value.isascii() or "_" in value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class IntegerFilter(django_filters.Filter):
    """A whole number: "1.5", "²" or "١٢" is a message, not caller 1 or 12."""

    field_class = AsciiIntegerField


class QuickFilterSet(django_filters.FilterSet):
    """A FilterSet that builds its form class once, not on every request.

    django-filter deep-copies every filter and builds a new form class from them for each
    request: a millisecond and a half of the call log's time, for the same form every
    time. Here each request gets shallow copies of the filters (its own parent and model)
    and the form class built the first time. So a filter's choices or queryset are set
    where it is declared (a callable queryset is evaluated per form, as Django's
    ModelChoiceField clones its queryset for each form), and per-class touches of the form
    (Bootstrap classes, how a choice is labelled) go in `prepare_form_class`."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {}
        for name, declared in self.base_filters.items():
            mine = copy.copy(declared)
            mine.model = queryset.model
            mine.parent = self
            if declared.method is not None:
                mine.method = declared.method  # its FilterMethod calls this copy's parent
            self.filters[name] = mine

    @classmethod
    def prepare_form_class(cls, form_class) -> None:
        bootstrap_fields(form_class.base_fields)

    def get_form_class(self):
        cls = type(self)
        if "_built_form_class" not in cls.__dict__:
            for declared in cls.base_filters.values():
                declared.model = cls._meta.model
            fields = {name: declared.field for name, declared in cls.base_filters.items()}
            form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            cls.prepare_form_class(form_class)
            cls._built_form_class = form_class
        return cls._built_form_class


class DateRangeForm(forms.Form):
    """The form of a filter set with From and To: a To before the From is a message on To
    (it found no calls, with nothing to say why)."""

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "To is before From: pick a day on or after From.")
        return data


class DateRangeFilterSet(QuickFilterSet):
    """From and To, whole days in local time, compared on the raw column (NARROWING's
    "from_at" and "until_at") so that its index is used (a __date lookup would wrap the
    column in a function).

    The filters that narrow by one column give their values by name (`narrowing`:
    {"from_at": ..., "until_at": ..., ...}); `NARROWING` says which lookup and type each
    value has. `narrow` applies them: both the QuerySet of the page and the statement
    compiled once for it (receptionist.statements.Statement) are built by it."""

    # Applied by `narrow`, with the other one-column filters.
    date_from = django_filters.DateFilter(
        label="From",
        method="filter_nothing",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=plausible_date_validators(),
    )
    date_to = django_filters.DateFilter(
        label="To",
        method="filter_nothing",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=plausible_date_validators(),
    )
    # {value's name: (lookup, type)}; the form fields `narrowing` reads.
    NARROWING: dict = {}
    NARROWED = ("date_from", "date_to")

    def narrowing(self) -> dict:
        data = self.form.cleaned_data
        values = {}
        if data.get("date_from"):
            values["from_at"] = start_of_day(data["date_from"])
        if data.get("date_to"):
            values["until_at"] = start_of_day(data["date_to"] + timedelta(days=1))
        return values

    @classmethod
    def narrow(cls, queryset, values: dict):
        for name, value in values.items():
            queryset = queryset.filter(**{cls.NARROWING[name][0]: value})
        return queryset

    def filter_queryset(self, queryset):
        queryset = self.narrow(queryset, self.narrowing())
        for name, value in self.form.cleaned_data.items():
            if name not in self.NARROWED:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_nothing(self, queryset, name, value):
        return queryset


class CallFilter(DateRangeFilterSet):
    """Filters of the call log. Every one of them is backed by an index."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        max_length=200,
        validators=[search.validate],
        widget=forms.TextInput(
            attrs={"placeholder": "Words, or a caller's name or number", "type": "search"}
        ),
    )
    sort = django_filters.ChoiceFilter(
        label="Order",
        choices=[("best", "Best match first")],
        empty_label="Newest first",
        method="filter_nothing",
    )
    nature = django_filters.ChoiceFilter(choices=Nature.choices, empty_label="Any")
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices, empty_label="Any")
    mood = django_filters.ChoiceFilter(choices=Mood.choices, empty_label="Any")
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, empty_label="Any")
    direction = django_filters.ChoiceFilter(choices=Direction.choices, empty_label="Any")
    taken_by = StaffFilter(
        label="Taken by",
        # A bounded list: the front desk staff, never every user or every caller.
        queryset=lambda request: front_desk_staff(),
        empty_label="Anyone",
    )
    who = django_filters.CharFilter(
        label="Caller",
        method="filter_who",
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Name, organisation or number"}),
    )
    # Applied by `narrow`, as the one-column filters are.
    withheld = django_filters.BooleanFilter(
        label="Number withheld",
        method="filter_nothing",
        widget=forms.CheckboxInput,
    )
    caller = IntegerFilter(
        field_name="caller_id",
        widget=forms.HiddenInput,
        min_value=1,
        max_value=2**63 - 1,
    )

    class Meta:
        model = Call
        fields = []
        form = DateRangeForm

    @classmethod
    def prepare_form_class(cls, form_class) -> None:
        super().prepare_form_class(form_class)
        form_class.base_fields["taken_by"].label_from_instance = display_name

    # The filters that narrow the log by one column: the name of the value each gives
    # (`narrowing`), its lookup and its type. The first two bound the start time, the
    # column the log is walked by.
    NARROWING = {
        "from_at": ("started_at__gte", datetime),
        "until_at": ("started_at__lt", datetime),
        "nature": ("nature", str),
        "urgency": ("urgency", str),
        "mood": ("mood", str),
        "outcome": ("outcome", str),
        "direction": ("direction", str),
        "taken_by": ("taken_by_id", int),
        "caller": ("caller_id", int),
    }
    WALKED_BY = ("from_at", "until_at")
    # The one-column filters with an index on (column, start time): a search walks its
    # window of recent calls along the one the fewest calls match (walk_along).
    WALKS_ALONG = ("caller", "taken_by", "nature", "urgency", "mood", "outcome")

    def narrowing(self) -> dict:
        data = self.form.cleaned_data
        values = super().narrowing()
        for name in ("nature", "urgency", "mood", "outcome", "direction"):
            if data.get(name):
                values[name] = data[name]
        if data.get("taken_by") is not None:
            values["taken_by"] = data["taken_by"].pk
        if data.get("caller") is not None:
            values["caller"] = data["caller"]
        return values

    def only_withheld(self) -> bool:
        """Whether only the calls logged without a number are asked for."""
        return bool(self.form.cleaned_data.get("withheld"))

    @classmethod
    def narrow(cls, queryset, values: dict, withheld: bool = False):
        """`queryset` narrowed by the values of `narrowing`, and to the calls without a
        number when `withheld`: the log's QuerySet and its compiled statement
        (calls.views.calls.LOG_PAGE) are both built by it."""
        queryset = super().narrow(queryset, values)
        # Ticked: a partial index holds exactly the calls without a number.
        return queryset.filter(phone="") if withheld else queryset

    @classmethod
    def walk_along(cls, values: dict) -> str | None:
        """The name of the filter among `values` (narrowing's) that a search walks its
        window along (search.walk_along), on PostgreSQL; None: along the whole log."""
        if connection.vendor != "postgresql":
            return None
        return search.walk_along(
            {
                name: (cls.NARROWING[name][0], values[name])
                for name in cls.WALKS_ALONG
                if name in values
            }
        )

    @classmethod
    def take_walked(cls, values: dict, along: str | None) -> dict:
        """The values of `values` that bound the calls a search walks (the dates, and the
        filter it walks along), taken out of `values`."""
        names = (*cls.WALKED_BY, along) if along else cls.WALKED_BY
        return {name: values.pop(name) for name in names if name in values}

    def searches(self) -> bool:
        """Whether the log is searched (words, or the "Caller" box), not only narrowed."""
        return bool(self.form.cleaned_data.get("q") or self.form.cleaned_data.get("who"))

    def filter_queryset(self, queryset):
        """The dates, the other filters, then the search.

        The calls in the date range with the value of the one filter the search walks
        along (`walked`: read by start time through that filter's index, see walk_along)
        bound how far a newest-first search walks (search.newest_ids): its window is the
        newest few thousand of them, its edge read from that index alone. Bounded by every
        filter, the window's edge was found by reading thousands of rows through one index
        and checking the others (17 ms for a word with a nature and an urgency at a million
        calls, against 2 ms)."""
        data = self.form.cleaned_data
        values = self.narrowing()
        walked = self.take_walked(values, self.walk_along(values) if data.get("q") else None)
        queryset = self.walked = self.narrow(queryset, walked)
        queryset = self.narrow(queryset, values, self.only_withheld())
        queryset = self.filters["who"].filter(queryset, data.get("who"))
        return self.filters["q"].filter(queryset, data.get("q"))

    # The search box's calls (calls.views.search): found by their own words alone; the
    # callers a word finds are its other group.
    words_only = False

    def filter_search(self, queryset, name, value):
        if self.words_only:
            return search.search(queryset, value, callers=False)
        if self.form.cleaned_data.get("sort") == "best":
            return queryset.ranked_search(value)
        return queryset.search(value)

    # The "Caller" box narrows the log to the callers it finds when there are at most this
    # many; more, and it asks for more of the name instead.
    CALLERS_NARROWED = 50

    @cached_property
    def who_found(self) -> list[Caller]:
        """The callers the "Caller" box finds, by name, each with its `numbers` (at most
        CALLERS_NARROWED + 1: one more tells there are too many); none when nothing was
        typed. Read once, for the calls (filter_who, or the view's compiled search) and
        for the callers the box offers.

        They are read as the index gives them, and sorted here: read by name, the callers
        a common name finds were all read and sorted in the database first."""
        value = self.form.cleaned_data.get("who") if self.is_valid() else None
        if not value:
            return []
        if self.request is None:
            callers = Caller.objects.all()
        else:
            callers = Caller.objects.for_user(self.request.user)
        every_business = self.request is None or Business.objects.ids_for(self.request.user) is None
        if (
            connection.vendor == "postgresql"
            and every_business
            and not Caller.objects.number_typed(value)
        ):
            found = WHO_CALLERS.all(text=value)
        else:
            found = (
                callers.search(value)
                .order_by()
                .only("pk", "name", "organisation")
                .annotate(numbers=NumbersOf("pk"))[: self.CALLERS_NARROWED + 1]
            )
        return sorted(found, key=lambda caller: (caller.name.casefold(), caller.pk))

    @property
    def many_callers(self) -> bool:
        """Whether the "Caller" box finds too many callers to narrow the log to."""
        return len(self.who_found) > self.CALLERS_NARROWED

    def filter_who(self, queryset, name, value):
        """The calls of the callers the "Caller" box finds (who_found), when it finds at
        most CALLERS_NARROWED; else no calls (`many_callers`: the page asks for more of the
        name or number).

        The calls of every caller a common name finds are no answer: 1,500 callers are
        called "Smith" at a million calls, and finding and sorting them all, then walking
        the log for their calls, made the page three times the budget of any other."""
        if self.many_callers or not self.who_found:
            return queryset.none()
        return queryset.filter(Q(search.AmongIds(F("caller_id"), [c.pk for c in self.who_found])))

    def page_order(self, queryset) -> tuple:
        """(queryset, key, whether to page ids first) to page the filtered calls by,
        descending: best match first when asked for and there is a search, else newest
        first. A search's matches are sorted before the limit: ids first."""
        if not self.form.cleaned_data.get("q"):
            if self.form.cleaned_data.get("who"):
                # The calls of a few callers (CALLERS_NARROWED at most): through the caller
                # index and sorted. Walked along the log, the calls of 24 callers named
                # "Jack Smith" lay behind 57,000 others (120 ms at a million calls).
                newest = partial(search.newest_ids, among=self.walked, window=False)
                return queryset, "started_at", newest
            return queryset, "started_at", False
        if self.form.cleaned_data.get("sort") == "best":
            return queryset, "relevance", True
        return queryset, "started_at", partial(search.newest_ids, among=self.walked)


def date_shortcuts(today: date) -> list[tuple[str, date, date]]:
    """The call log's one-click ranges: (label, from, to), both days included."""
    yesterday = today - timedelta(days=1)
    return [
        ("Today", today, today),
        ("Yesterday", yesterday, yesterday),
        ("This week", today - timedelta(days=today.weekday()), today),
    ]


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# The callers the "Caller" box finds by name (CallFilter.who_found), for a person who sees
# every business, on PostgreSQL: compiled once, as building and compiling the query took
# a tenth of the page.
WHO_CALLERS = Statement(
    lambda text: (
        Caller.objects.filter(Caller.objects.name_contains(text))
        .order_by()
        .only("pk", "name", "organisation")
        .annotate(numbers=NumbersOf("pk"))[: CallFilter.CALLERS_NARROWED + 1]
    ),
    text=str,
)


class ResolvedEscalationFilter(DateRangeFilterSet):
    """Filters of the managers' "Resolved" view: caller, manager, dates."""

    caller = django_filters.CharFilter(
        label="Caller", field_name="call__caller__name", lookup_expr="icontains", max_length=200
    )
    resolved_by = ManagerFilter(
        label="Resolved by", queryset=lambda request: managers(), empty_label="Anyone"
    )

    NARROWING = {
        "from_at": ("resolved_at__gte", datetime),
        "until_at": ("resolved_at__lt", datetime),
        "resolved_by": ("resolved_by_id", int),
    }
    NARROWED = ("date_from", "date_to", "resolved_by")

    class Meta:
        model = Escalation
        fields = []
        form = DateRangeForm

    def narrowing(self) -> dict:
        values = super().narrowing()
        if self.form.cleaned_data.get("resolved_by") is not None:
            values["resolved_by"] = self.form.cleaned_data["resolved_by"].pk
        return values

    def searches(self) -> bool:
        """Whether a caller's name is looked for (not a one-column filter)."""
        return bool(self.form.cleaned_data.get("caller"))

    @classmethod
    def prepare_form_class(cls, form_class) -> None:
        super().prepare_form_class(form_class)
        form_class.base_fields["resolved_by"].label_from_instance = display_name


class EscalateForm(forms.Form):
    """Escalate a call after it was logged."""

    reason = forms.CharField(
        label="What the manager should know",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    playbook_steps = forms.MultipleChoiceField(
        label="What was tried",
        choices=PLAYBOOK,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class ResolveForm(forms.Form):
    """Resolve an escalation: what was done, the debrief, and the caller's caution flag."""

    # Not required here: escalation_resolve asks for it, together with its other rules.
    resolution = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    debrief = forms.CharField(
        label="Debrief note to the receptionist",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    caution_decision = forms.ChoiceField(
        label="Caller's caution flag",
        choices=CautionDecision.choices,
        initial=CautionDecision.KEEP,
        widget=forms.RadioSelect,
    )
    caution_note = forms.CharField(
        label="Handling note",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, escalation: Escalation, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["caution_note"] = escalation.call.caller.caution_note
        with_bootstrap_classes(self)

    # No clean(): the debrief after abuse and the handling note with a caution flag are
    # escalation_resolve's rules; the view puts its refusals on these fields.


class AssignForm(forms.Form):
    # Drawn from the managers read once per process; the one sent is checked in the
    # database (managers(), a queryset evaluated per form).
    assignee = ManagerChoiceField(label="Assign to", queryset=get_user_model().objects.none())
    # Who it was assigned to when the page was drawn (empty: nobody): see escalation_assign.
    was = forms.IntegerField(
        required=False, widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = managers()
        with_bootstrap_classes(self)


class LookupForm(forms.Form):
    """What the lookup panel is asked, as the call form is typed."""

    phone = forms.CharField(required=False, max_length=40, strip=True)
    caller_name = forms.CharField(required=False, max_length=200, strip=True)
    # The caller chosen so far: kept while it still matches what is typed.
    caller = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    number_withheld = forms.BooleanField(required=False)
    # The business the call is for, when several are active: its callers only.
    business = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
