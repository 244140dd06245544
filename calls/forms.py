"""Forms of the calls app: the call form (new and edit) and the call log filters."""

from datetime import date, datetime, time, timedelta

import django_filters
from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from callers.models import Caller
from callers.phones import to_e164
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
from calls.services import must_escalate
from receptionist.roles import MANAGERS, front_desk_staff

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs={"step": "1", **(attrs or {})}, format=DATETIME_FORMAT)


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


class CallForm(forms.ModelForm):
    """The call form. New calls also name the caller: a match from the lookup or a new name."""

    caller = forms.ModelChoiceField(
        queryset=Caller.objects.none(), required=False, widget=forms.HiddenInput
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
    callback_due_at = forms.DateTimeField(
        label="Call back by",
        required=False,
        widget=LocalDateTimeInput(attrs={"step": "60"}),
        help_text="From the callback policy for this nature and urgency; change it if needed.",
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
    # The caller's open callback this call belongs to (offered by the open-callback notice).
    attach_to = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    caller_name = forms.CharField(
        label="Caller's name",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
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
            "started_at": LocalDateTimeInput(),
            "ended_at": LocalDateTimeInput(),
            "direction": KeyRadioSelect({"inbound": "i", "outbound": "o"}),
            "nature": KeyRadioSelect(
                {"sales": "s", "appointment": "a", "urgent": "u", "other": "o"}
            ),
            "urgency": KeyRadioSelect({"low": "l", "normal": "n", "high": "h", "emergency": "e"}),
            "mood": KeyRadioSelect({"calm": "c", "upset": "u", "angry": "a", "abusive": "b"}),
            "summary": forms.TextInput(attrs={"autocomplete": "off"}),
            "wants": forms.Textarea(attrs={"rows": 2}),
            "promised": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "ended_at": "Left empty, the call ends when it is saved.",
        }

    def __init__(self, *args, user=None, creating=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.fields["started_at"].input_formats = [DATETIME_FORMAT, "%Y-%m-%dT%H:%M"]
        self.fields["ended_at"].input_formats = [DATETIME_FORMAT, "%Y-%m-%dT%H:%M"]
        self.fields["callback_due_at"].input_formats = [DATETIME_FORMAT, "%Y-%m-%dT%H:%M"]
        if creating:
            self.fields["caller"].queryset = Caller.objects.for_user(user)
            self.fields["phone"].required = True
            # Search as you type: the lookup panel beside the form follows phone and name.
            lookup = {
                "hx-get": reverse("callers:lookup"),
                "hx-target": "#caller-lookup",
                "hx-include": "#id_phone, #id_caller_name, #id_caller",
                "hx-sync": "closest form:replace",
            }
            self.fields["phone"].widget.attrs.update(
                lookup, **{"hx-trigger": "input changed delay:250ms, load"}
            )
            self.fields["caller_name"].widget.attrs.update(
                lookup, **{"hx-trigger": "input changed delay:300ms"}
            )
        else:
            for name in (
                "caller",
                "caller_name",
                "escalate",
                "playbook_steps",
                "escalation_reason",
                *CALLBACK_FIELDS,
            ):
                del self.fields[name]

    def clean(self):
        data = super().clean()
        started, ended = data.get("started_at"), data.get("ended_at")
        if started and started > timezone.now() + timedelta(minutes=5):
            self.add_error("started_at", "The call cannot start in the future.")
        if started and ended and ended < started:
            self.add_error("ended_at", "The call cannot end before it started.")
        if self.creating:
            self._clean_caller(data)
            if must_escalate(mood=data.get("mood"), outcome=data.get("outcome")):
                data["escalate"] = True  # abuse always goes to a manager
            self._clean_callback(data)
        return data

    def _clean_callback(self, data):
        due = data.get("callback_due_at")
        if data.get("callback") and data.get("attach_to"):
            self.add_error(
                "attach_to",
                "Either add this call to the open callback or promise a new one, not both.",
            )
        elif data.get("callback") and due is not None and due <= timezone.now():
            self.add_error("callback_due_at", "That time has passed: pick a time later than now.")
        elif (
            data.get("outcome") == Outcome.CALLBACK_SCHEDULED
            and not data.get("callback")
            and not data.get("attach_to")
        ):
            self.add_error(
                "callback",
                "The outcome says a callback was promised: tick “Call back” and say when.",
            )

    def _clean_caller(self, data):
        caller, name, phone = (
            data.get("caller"),
            data.get("caller_name", "").strip(),
            data.get("phone"),
        )
        if caller is not None or "phone" in self.errors:
            return
        if phone:
            # No caller was picked: a caller who has exactly this number and the same name
            # (or no name typed) is the one on the phone; otherwise a new caller is created.
            e164 = to_e164(str(phone))
            matches = list(
                self.fields["caller"].queryset.filter(phones__number=e164).distinct()[:2]
            )
            if len(matches) == 1 and (not name or name.casefold() == matches[0].name.casefold()):
                data["caller"] = matches[0]
                return
            if len(matches) > 1 and not name:
                self.add_error(
                    "caller_name",
                    "Several callers share this number: pick one from the list, or type a name "
                    "to create a new caller.",
                )
                return
        if not name:
            self.add_error("caller_name", "Nobody has this number yet: type the caller's name.")


class CallFilter(django_filters.FilterSet):
    """Filters of the call log. Every one of them is backed by an index."""

    q = django_filters.CharFilter(label="Search", method="filter_search")
    date_from = django_filters.DateFilter(
        label="From", method="filter_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        label="To", method="filter_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    nature = django_filters.ChoiceFilter(choices=Nature.choices, empty_label="Any")
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices, empty_label="Any")
    mood = django_filters.ChoiceFilter(choices=Mood.choices, empty_label="Any")
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, empty_label="Any")
    direction = django_filters.ChoiceFilter(choices=Direction.choices, empty_label="Any")
    taken_by = django_filters.ModelChoiceFilter(
        label="Taken by", queryset=get_user_model().objects.none(), empty_label="Anyone"
    )
    caller = django_filters.NumberFilter(field_name="caller_id", widget=forms.HiddenInput)

    class Meta:
        model = Call
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A bounded list: the front desk staff, never every user or every caller.
        self.filters["taken_by"].queryset = front_desk_staff()
        self.form.helper = FormHelper()
        self.form.helper.form_tag = False
        self.form.helper.disable_csrf = True

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    # Day boundaries in local time, compared on the raw column so the index is used
    # (started_at__date would wrap the column in a function).
    def filter_from(self, queryset, name, value):
        return queryset.filter(started_at__gte=start_of_day(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(started_at__lt=start_of_day(value + timedelta(days=1)))


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


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

    resolution = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
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
        self.escalation = escalation
        if not self.is_bound:
            self.initial["caution_note"] = escalation.call.caller.caution_note

    def clean(self):
        data = super().clean()
        call = self.escalation.call
        if (
            must_escalate(mood=call.mood, outcome=call.outcome)
            and not data.get("debrief", "").strip()
        ):
            self.add_error(
                "debrief", "After an abusive call, write a debrief note to the receptionist."
            )
        if (
            data.get("caution_decision") == CautionDecision.SET
            and not data.get("caution_note", "").strip()
        ):
            self.add_error("caution_note", "Say how to handle this caller next time.")
        return data


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label="Assign to", queryset=get_user_model().objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, groups__name=MANAGERS)
            .order_by("username")
        )
