"""Forms of the callback queue: an attempt, an assignment, a cancellation."""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from calls.forms import with_bootstrap_classes
from calls.models import Nature, Urgency
from followups.models import AttemptResult, Callback, WebhookEventName
from receptionist.forms import LocalDateTimeField, LocalDateTimeInput, StaffChoiceField
from receptionist.roles import front_desk_staff

# A suggestion only: the person trying can pick any later time.
RETRY_AFTER = timedelta(hours=1)


def suggested_retry(now=None):
    """The next try an hour from now, to the minute."""
    now = timezone.localtime(now or timezone.now()).replace(second=0, microsecond=0)
    return now + RETRY_AFTER


class AttemptForm(forms.Form):
    """One try at calling back: what happened, and either the next time or the outcome."""

    result = forms.ChoiceField(
        choices=AttemptResult.choices, widget=forms.RadioSelect, label="What happened"
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    next_due_at = LocalDateTimeField(
        label="Try again by",
        required=False,
        widget=LocalDateTimeInput(seconds=False),
        help_text="After no answer or a voicemail the callback goes back in the queue then.",
    )
    outcome = forms.CharField(
        label="Outcome",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to close the callback; closes it whatever the result.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)

    def __init__(self, *args, callback: Callback, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("next_due_at", suggested_retry())
            self.initial.setdefault("version", callback.version)
        with_bootstrap_classes(self)


class AssignForm(forms.Form):
    # Drawn from the staff read once per process; the person sent is checked in the
    # database (front_desk_staff, a queryset evaluated per form).
    assignee = StaffChoiceField(
        label="Assign to",
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="The whole team",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = front_desk_staff()
        with_bootstrap_classes(self)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why is it cancelled?", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with_bootstrap_classes(self)


class OpenForForm(forms.Form):
    """What the open-callback notice is asked: the caller picked, or the number typed."""

    phone = forms.CharField(required=False, max_length=40)
    caller = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    attach_to = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    # The business the call is for, when several are active: its callers only.
    business = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class PromisePreviewForm(forms.Form):
    """The call form's callback fields, as the promise preview reads them."""

    nature = forms.ChoiceField(choices=Nature.choices)
    urgency = forms.ChoiceField(choices=Urgency.choices)
    callback = forms.BooleanField(required=False)
    callback_due_at = LocalDateTimeField(required=False)
    callback_due_edited = forms.BooleanField(required=False)
    callback_promise = forms.CharField(required=False, max_length=200)
    callback_words_shown = forms.CharField(required=False, max_length=200)
    caller = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    # The business the call is for (the call form's, when several are active).
    business = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class PolicyForm(forms.Form):
    """A business's callback policy: minutes to call back within, by nature and urgency
    (empty: the default). The rules are followups.services.policy_save's."""

    within_business_hours = forms.BooleanField(
        label="Within business hours",
        required=False,
        help_text="The minutes run only while the business is open (its opening hours, "
        "less its closed days): a 30-minute promise made at 5:50 pm, at a business closing "
        "at 6, is due 20 minutes after it opens again.",
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, defaults: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for nature in Nature:
            for urgency in Urgency:
                self.fields[f"{nature.value}_{urgency.value}"] = forms.IntegerField(
                    label=f"{nature.label}, {urgency.label}",
                    required=False,
                    widget=forms.NumberInput(
                        attrs={"placeholder": defaults[nature][urgency], "class": "form-control"}
                    ),
                    error_messages={"invalid": "Minutes, as a whole number."},
                )

    def grid(self):
        """The fields as rows of (nature label, [bound field per urgency])."""
        return [
            (nature.label, [self[f"{nature.value}_{urgency.value}"] for urgency in Urgency])
            for nature in Nature
        ]

    def minutes(self, sent) -> dict:
        """The minutes of the boxes in `sent` (the request's data) that read: a box left
        out of a forged form stays as it is; of a form with errors, the others."""
        return {
            (nature.value, urgency.value): self.cleaned_data[name]
            for nature in Nature
            for urgency in Urgency
            if (name := f"{nature.value}_{urgency.value}") in sent and name in self.cleaned_data
        }


class WebhookEndpointForm(forms.Form):
    """An endpoint of another system: the rules are followups.webhooks.webhook_endpoint_save's
    (this form only reads the values)."""

    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="Where the events are sent (POST): http:// or https://, e.g. "
        "https://crm.example.com/hooks/calls.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        required=False, max_length=200, help_text="What it is, for the managers (optional)."
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEventName.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick at least one event.",
            "invalid_choice": "No such event: pick from the list.",
        },
    )
    businesses = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only these businesses' events; none ticked: every business's.",
        error_messages={"invalid_choice": "No such business: pick from the list."},
    )
    secret = forms.CharField(
        required=False,
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Signs every delivery. Leave empty: a new endpoint gets one made, a changed "
        "one keeps its own. Or type 24 to 100 characters, no spaces.",
    )

    def __init__(self, *args, businesses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["businesses"].choices = [(b.pk, b.name) for b in businesses]

    def endpoint_values(self) -> dict:
        """What webhook_endpoint_save takes, from the cleaned form."""
        data = self.cleaned_data
        return {
            "url": data["url"],
            "description": data["description"],
            "events": data["events"],
            "business_ids": data["businesses"],
            "secret": data["secret"],
        }
