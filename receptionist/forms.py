"""Form helpers shared by the apps: the local date-time field and how a service's refusal
lands on a form."""

from datetime import datetime

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import formats
from django.utils.choices import CallableChoiceIterator
from django.utils.functional import lazy

from receptionist.bounds import EARLIEST, LATEST, OUT_OF_RANGE
from receptionist.roles import MANAGERS, staff_choices

PLACEHOLDERS = {
    "%Y": "YYYY",
    "%m": "MM",
    "%d": "DD",
    "%y": "YY",
    "%H": "hh",
    "%M": "mm",
    "%S": "ss",
}


def datetime_input_format(*, seconds: bool = True) -> str:
    """How date-time fields show a time: the locale's first date-time input format, which
    is on the 24-hour clock as the lists are ("2026-11-24 14:05:09" in English)."""
    chosen = formats.get_format("DATETIME_INPUT_FORMATS")[0]
    return chosen if seconds else chosen.replace(":%S", "")


def datetime_placeholder(*, seconds: bool = True) -> str:
    """The format in words, as a date-time field's placeholder: "YYYY-MM-DD hh:mm"."""
    shown = datetime_input_format(seconds=seconds)
    for code, words in PLACEHOLDERS.items():
        shown = shown.replace(code, words)
    return shown


class LocalDateTimeInput(forms.DateTimeInput):
    """A date and time typed as text in the locale's input format, to the second unless
    `seconds=False`. Not the browser's date-time picker: Chromium draws that on the 12-hour
    clock in English whatever the page says, and gives every part of it a tab stop."""

    input_type = "text"

    def __init__(self, attrs=None, *, seconds: bool = True):
        self.seconds = seconds
        # Lazy: the format is the locale's at the time the field is drawn.
        placeholder = lazy(datetime_placeholder, str)(seconds=seconds)
        super().__init__(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": placeholder,
                **(attrs or {}),
            },
            format=None,
        )

    def format_value(self, value):
        if isinstance(value, datetime):
            return value.strftime(datetime_input_format(seconds=self.seconds))
        return value


class LocalDateTimeField(forms.DateTimeField):
    """A date and time typed in the local time zone, refused outside this century: in any of
    the locale's input formats or ISO 8601 ("2026-11-24T14:05").

    The range check happens here, before anything converts the value to UTC: a year-9999
    time in a zone west of Greenwich would overflow on the way.
    """

    widget = LocalDateTimeInput

    def to_python(self, value):
        try:
            result = super().to_python(value)
            if result is not None and not (EARLIEST <= result < LATEST):
                raise ValidationError(OUT_OF_RANGE, code="out_of_range")
        except OverflowError as exc:
            raise ValidationError(OUT_OF_RANGE, code="out_of_range") from exc
        return result


VERSION_UNKNOWN = (
    "This form did not say which version of the {what} it edits, so nothing was saved: open "
    "the {what} again to edit it (what you typed is below, to copy)."
)


def posted_version(data) -> int | None:
    """The version a posted edit started from, or None when the form did not say."""
    try:
        return forms.IntegerField(min_value=1, max_value=2**31 - 1).clean(data.get("version"))
    except ValidationError:
        return None


def with_version(data, version: int):
    """A copy of posted data with another version: the form is shown again, keeping what was
    typed, ready to be saved on top of the version now shown."""
    data = data.copy()
    data["version"] = version
    return data


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's refusal on the form: on the field it names when the form has that
    field, above the form otherwise. The service's words are shown as they are."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class UsernameLengthMixin:
    """The username's length checked before anyone is asked.

    AuthenticationForm sets the field's max_length after the field was built, which adds no
    validator: a 256-character name went on to the lockout table (255 characters) and
    failed there. Refused here, it is a message on the field.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class LoginForm(UsernameLengthMixin, AuthenticationForm):
    """The front desk's login form."""


class AdminLoginForm(UsernameLengthMixin, AdminAuthenticationForm):
    """The admin's login form, with the same check."""


class StaffChoices:
    """For a ModelChoiceField of people of a role (`staff_groups`; by default the front
    desk staff): the choices drawn are receptionist.roles.staff_choices, read once per
    process rather than a query per page; a person sent is still checked against the
    field's queryset, in the database."""

    staff_groups: tuple[str, ...] = ()

    def _staff(self):
        people = staff_choices(*self.staff_groups)
        return people if self.empty_label is None else [("", self.empty_label), *people]

    def _lazy_staff(self):
        # Read when drawn, not when the field is made (a form class is made at import).
        return CallableChoiceIterator(self._staff)

    choices = property(_lazy_staff, forms.ChoiceField.choices.fset)


class StaffChoiceField(StaffChoices, forms.ModelChoiceField):
    """A person of the front desk (see StaffChoices); its queryset is front_desk_staff()."""


class ManagerChoiceField(StaffChoiceField):
    """A manager (see StaffChoices); its queryset is managers()."""

    staff_groups = (MANAGERS,)
