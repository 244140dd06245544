"""Forms of the callback queue: an attempt, an assignment, a cancellation."""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from calls.forms import DATETIME_FORMAT, LocalDateTimeInput
from followups.models import RESCHEDULING_RESULTS, AttemptResult, Callback
from receptionist.roles import display_name, front_desk_staff

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
    next_due_at = forms.DateTimeField(
        label="Try again by",
        required=False,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%dT%H:%M"],
        widget=LocalDateTimeInput(attrs={"step": "60"}),
        help_text="After no answer or a voicemail the callback goes back in the queue then.",
    )
    outcome = forms.CharField(
        label="Outcome",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to close the callback; closes it whatever the result.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, callback: Callback, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("next_due_at", suggested_retry())
            self.initial.setdefault("version", callback.version)

    def clean(self):
        data = super().clean()
        result, outcome = data.get("result"), data.get("outcome", "").strip()
        due = data.get("next_due_at")
        if result == AttemptResult.REACHED and not outcome:
            self.add_error("outcome", "The caller was reached: say how it ended to close it.")
        elif result and not outcome:
            if due is None and "next_due_at" not in self.errors:
                message = (
                    "Say when to try again."
                    if result in RESCHEDULING_RESULTS
                    else "Say when to try again, or write an outcome to close it."
                )
                self.add_error("next_due_at", message)
            elif due is not None and due <= timezone.now():
                self.add_error("next_due_at", "That time has passed: pick a time later than now.")
        return data


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label="Assign to",
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="The whole team",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = front_desk_staff()
        self.fields["assignee"].label_from_instance = display_name


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why is it cancelled?", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
