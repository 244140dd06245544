"""Forms of the callers app: callers and their numbers, and the businesses."""

import re
import zoneinfo
from datetime import date, time

from crispy_forms.helper import FormHelper
from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from callers import phones
from callers.models import Business, Caller, CallerPhone, Weekday
from callers.services import EDITABLE_FIELDS, MOST_CONTACTS, MOST_EXCEPTIONS, MOST_WEEKLY_SHIFTS
from receptionist.templatetags.words import phone as phone_as_read


class PhoneField(forms.CharField):
    """A phone number as receptionists type it, read by callers.phones.parse: the rule the
    lookup panel shows and the searches follow, so what the panel calls no number is not
    saved as one (an extension, letters) and digits of any script are the same number."""

    def __init__(self, *args, region=None, **kwargs):
        # (region: given by the model field; phones.parse reads settings.PHONE_REGION.)
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        from phonenumber_field.phonenumber import PhoneNumber

        text = super().to_python(value)
        if not text:
            return ""
        number = phones.to_e164(text)
        if number is None:
            raise forms.ValidationError(phones.NOT_A_NUMBER, code="not_a_number")
        return PhoneNumber.from_string(number)


class CallerForm(forms.ModelForm):
    """A caller's details. The caution flag is for managers only."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)

    class Meta:
        model = Caller
        fields = EDITABLE_FIELDS
        widgets = {
            "things_to_remember": forms.Textarea(attrs={"rows": 3}),
            "caution_note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, can_flag=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["version"] = self.instance.version
        if not can_flag:
            del self.fields["caution"]
            del self.fields["caution_note"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    @property
    def editable_fields(self) -> list[str]:
        return [name for name in self.Meta.fields if name in self.fields]

    def _post_clean(self):
        # The rules of a caller (a handling note only with the flag) are caller_update's:
        # the form neither saves nor validates the instance itself.
        pass


class CallerPhoneBaseFormSet(BaseInlineFormSet):
    def wanted_numbers(self) -> list[tuple[str, str]]:
        """The numbers to keep or add, as (E.164, label), for caller_update.

        A number goes only when its "Delete" box is ticked: one the form left out (a
        truncated or forged form) is kept, never deleted by omission.
        """
        wanted = {phone.pk: (phone.number.as_e164, phone.label) for phone in self.get_queryset()}
        added = []
        for form in self.forms:
            data = form.cleaned_data
            pk = form.instance.pk
            if pk in wanted and data.get("DELETE"):
                del wanted[pk]
            elif data.get("number") and not data.get("DELETE"):
                entry = (data["number"].as_e164, data["label"])
                if pk in wanted:
                    wanted[pk] = entry
                else:
                    added.append(entry)
        return [*wanted.values(), *added]

    def added_numbers(self) -> list[tuple[str, str]]:
        """The numbers typed into the empty rows, as (E.164, label)."""
        return [
            (form.cleaned_data["number"].as_e164, form.cleaned_data["label"])
            for form in self.extra_forms
            if form.cleaned_data.get("number") and not form.cleaned_data.get("DELETE")
        ]


CallerPhoneFormSet = inlineformset_factory(
    Caller,
    CallerPhone,
    formset=CallerPhoneBaseFormSet,
    fields=["number", "label"],
    extra=1,
    can_delete=True,
    min_num=0,
    # Nobody has twenty numbers; a forged form asking for millions of rows gets a message.
    max_num=20,
    absolute_max=25,
    validate_max=True,
    widgets={"number": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})},
)


class CallerSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)


class CallerMergeForm(forms.Form):
    """Which caller to keep, as the merge page's address or form says."""

    into = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


# --- businesses ---------------------------------------------------------------------------

_HOURS = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-\u2013]\s*(\d{1,2})[:.](\d{2})\s*$")
HOURS_HELP = "09:00-12:30, 14:00-18:00 (24-hour clock); empty: closed."


def read_hours(text: str) -> list[tuple[time, time]]:
    """A day's opening hours as typed ("09:00-12:30, 14:00-18:00") as (opens, closes)."""
    hours = []
    for part in filter(None, (part.strip() for part in text.split(","))):
        found = _HOURS.match(part)
        try:
            if not found:
                raise ValueError
            h1, m1, h2, m2 = (int(n) for n in found.groups())
            closes = time(0, 0) if (h2, m2) == (24, 0) else time(h2, m2)
            hours.append((time(h1, m1), closes if closes != time(0, 0) else time.max))
        except ValueError:
            raise forms.ValidationError(
                "“%(part)s” is no time range: write it as " + HOURS_HELP,
                params={"part": part},
                code="hours",
            ) from None
    return hours


def show_hours(rows) -> str:
    """Opening hours as read_hours reads them."""
    return ", ".join(
        f"{row.opens:%H:%M}-{'24:00' if row.closes == time.max else f'{row.closes:%H:%M}'}"
        for row in rows
    )


_CLOSED_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(.*?))?\s*$")


def read_closed_days(text: str) -> list[tuple[date, str]]:
    """Closed days as typed, one a line ("2026-12-25 Christmas Day"), as (date, name)."""
    days = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        found = _CLOSED_DAY.match(line)
        try:
            if not found:
                raise ValueError
            year, month, day, name = found.groups()
            days.append((date(int(year), int(month), int(day)), name or ""))
        except ValueError:
            raise forms.ValidationError(
                "“%(line)s” is no day: write one a line, e.g. 2026-12-25 Christmas Day.",
                params={"line": line[:40]},
                code="closed_day",
            ) from None
    return days


def show_closed_days(rows) -> str:
    """Closed days as read_closed_days reads them."""
    return "\n".join(f"{row.day:%Y-%m-%d} {row.name}".strip() for row in rows)


def shown_number(number) -> str:
    """A number as the desk reads it, and as it is read back when the form is sent again:
    national for the desk's region, international for any other country."""
    return phone_as_read(number)


TIME_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


class BusinessForm(forms.ModelForm):
    """A business: what the receptionist says and does for it, when it is open, which
    numbers ring for it. The rules are business_save's; this form reads what was typed."""

    inbound_numbers = forms.CharField(
        label="Inbound numbers",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The numbers that ring for this business, one a line, in any format. "
        "A call to one of them opens the call form for it (?dialed=).",
    )
    time_zone = forms.ChoiceField(
        label="Time zone", choices=[(name, name) for name in TIME_ZONES], initial="UTC"
    )
    closed_days = forms.CharField(
        label="Closed days",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Holidays, one a line: 2026-12-25 Christmas Day. Closed all day, whatever "
        "the hours say (callbacks kept within business hours skip them).",
    )

    class Meta:
        model = Business
        fields = [
            "name",
            "greeting",
            "instructions",
            "after_hours_instructions",
            "time_zone",
            "message_text_in_email",
            "billing_rule",
        ]
        labels = {
            "name": "Name",
            "greeting": "Greeting",
            "instructions": "Instructions",
            "after_hours_instructions": "After-hours instructions",
            "message_text_in_email": "Put the message in the e-mail",
            "billing_rule": "Billing",
        }
        widgets = {
            "greeting": forms.Textarea(attrs={"rows": 2}),
            "instructions": forms.Textarea(attrs={"rows": 4}),
            "after_hours_instructions": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["billing_rule"].required = False
        business = self.instance
        for day in Weekday:
            self.fields[f"hours_{day.value}"] = forms.CharField(
                label=day.label,
                required=False,
                max_length=200,
                help_text=HOURS_HELP if day == Weekday.MONDAY else "",
            )
        if business.pk and not self.is_bound:
            rows = list(business.hours.all())
            for day in Weekday:
                self.initial[f"hours_{day.value}"] = show_hours(
                    row for row in rows if row.weekday == day.value
                )
            self.initial["inbound_numbers"] = "\n".join(
                shown_number(number.number) for number in business.inbound_numbers.all()
            )
            self.initial["closed_days"] = show_closed_days(business.closed_days.all())

    def clean(self):
        cleaned = super().clean()
        if "closed_days" in cleaned:
            try:
                cleaned["closed_days"] = read_closed_days(cleaned["closed_days"])
            except forms.ValidationError as exc:
                self.add_error("closed_days", exc)
        for day in Weekday:
            name = f"hours_{day.value}"
            if name in cleaned:
                try:
                    cleaned[name] = read_hours(cleaned[name])
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        return cleaned

    def _post_clean(self):
        # The model's rules are business_save's: the view calls it and shows its refusals.
        pass

    def business_values(self) -> dict:
        """What business_save takes, from the cleaned form (of a form with errors: what did
        read, the rest left out)."""
        data = self.cleaned_data
        values = {name: data[name] for name in self.Meta.fields if name in data}
        if not values.get("billing_rule"):
            values.pop("billing_rule", None)  # left out: the business keeps its rule
        if "inbound_numbers" in data:
            values["numbers"] = (data["inbound_numbers"] or "").splitlines()
        values["hours"] = [
            (day.value, opens, closes)
            for day in Weekday
            for opens, closes in data.get(f"hours_{day.value}") or []
        ]
        if isinstance(data.get("closed_days"), list):
            values["closed_days"] = data["closed_days"]
        return values


class ContactForm(forms.Form):
    # The contact this row was (the on-call schedule names it): kept when it is edited.
    id = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    name = forms.CharField(label="Name", max_length=200)
    email = forms.EmailField(label="E-mail", required=False)
    phone = PhoneField(label="Phone", required=False)
    role = forms.CharField(label="Role", max_length=100, required=False)


class BaseContactFormSet(forms.BaseFormSet):
    def clean(self):
        # A forged count of contacts (below zero) reads as "no contacts" and would delete
        # them all: refused, nothing saved.
        if self.management_form.cleaned_data.get("TOTAL_FORMS", 0) < 0:
            raise forms.ValidationError(
                "The contacts part of the form was damaged: open the page again."
            )
        super().clean()


ContactFormSet = forms.formset_factory(
    ContactForm,
    formset=BaseContactFormSet,
    extra=1,
    can_delete=True,
    max_num=MOST_CONTACTS,
    validate_max=True,
)


def contacts_of(formset) -> list[dict]:
    """The contacts a valid ContactFormSet keeps (a row left empty or marked to delete is
    none), as business_save takes them."""
    return [
        {
            **{
                name: form.cleaned_data.get(name) or ""
                for name in ("name", "email", "phone", "role")
            },
            "id": form.cleaned_data.get("id"),
        }
        for form in formset.forms
        if form.has_changed() and form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class PersonForm(forms.Form):
    """Someone who uses the app: the rules are receptionist.people.person_save's."""

    username = forms.CharField(label="Username", max_length=150)
    first_name = forms.CharField(
        label="First name",
        max_length=150,
        required=False,
        help_text="The greeting a receptionist reads says it (else their username).",
    )
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(label="E-mail", required=False)
    role = forms.ChoiceField(
        label="Role",
        choices=[
            ("receptionist", "Receptionist"),
            ("manager", "Manager"),
            ("client", "Client (someone at the business: sees its portal only)"),
        ],
        widget=forms.RadioSelect,
    )
    businesses = forms.TypedMultipleChoiceField(
        label="Businesses",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Receptionists and managers: none ticked means every business. "
        "A client: exactly one.",
        error_messages={"invalid_choice": "No such business: pick one of the list."},
    )
    active = forms.BooleanField(
        label="May log in", required=False, initial=True, help_text="Untick when they leave."
    )
    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="For someone new; left empty on a change, their password stays.",
    )

    def __init__(self, *args, businesses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["businesses"].choices = [(b.pk, b.name) for b in businesses]

    def person_values(self) -> dict:
        """What person_save takes, from the cleaned form."""
        data = self.cleaned_data
        return {
            "username": data["username"],
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data["email"],
            "role": data["role"],
            "business_ids": data["businesses"],
            "active": data["active"],
            "password": data["password"] or None,
        }


# --- on call -------------------------------------------------------------------------------

PLACES = ("first", "second", "third", "fourth")
PLACE_LABELS = ("First", "Then", "Then", "Then")


class ConfirmingForm(forms.ModelForm):
    """How a business's urgent messages are confirmed: the rules are on_call_save's."""

    class Meta:
        model = Business
        fields = ["always_confirm", "confirm_minutes_emergency", "confirm_minutes_high"]
        widgets = {
            "always_confirm": forms.CheckboxInput(attrs={"class": "form-check-input"}),
            "confirm_minutes_emergency": forms.NumberInput(
                attrs={"min": 1, "max": 1440, "class": "form-control"}
            ),
            "confirm_minutes_high": forms.NumberInput(
                attrs={"min": 1, "max": 1440, "class": "form-control"}
            ),
        }

    def _post_clean(self):
        # The model's rules are on_call_save's: the view calls it and shows its refusals.
        pass


class _ShiftForm(forms.Form):
    """The people of a shift, in order: a choice of the business's contacts per place."""

    def __init__(self, *args, contacts=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [
            (contact.pk, f"{contact.name} ({contact.role})" if contact.role else contact.name)
            for contact in contacts
        ]
        for name, label in zip(PLACES, PLACE_LABELS, strict=True):
            self.fields[name] = forms.TypedChoiceField(
                label=label,
                choices=choices,
                coerce=int,
                required=False,
                empty_value=None,
                error_messages={"invalid_choice": "Pick one of the business's contacts."},
            )
        for field in self.fields.values():
            kind = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", f"{kind} {kind}-sm")

    def people(self):
        return [self[name] for name in PLACES]

    def contacts(self) -> list:
        return [self.cleaned_data.get(name) for name in PLACES]


def _time_field(label):
    return forms.TimeField(
        label=label,
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        error_messages={"invalid": "A time on the 24-hour clock, e.g. 18:00."},
    )


def _date_field(label):
    return forms.DateField(
        label=label,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        error_messages={"invalid": "A date, e.g. 2026-12-24."},
    )


class WeeklySlotForm(_ShiftForm):
    """A slot of the weekly rotation: from a time on a weekday to a time (the next day when
    it is not after the start)."""

    weekday = forms.TypedChoiceField(
        label="Day",
        choices=[("", "—"), *Weekday.choices],
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "Pick a day of the week."},
    )
    starts = _time_field("From")
    ends = _time_field("To")

    def shift_values(self) -> dict:
        data = self.cleaned_data
        return {
            "weekday": data["weekday"],
            "starts": data["starts"],
            "ends": data["ends"],
            "contacts": self.contacts(),
        }


class ExceptionForm(_ShiftForm):
    """A dated exception (a holiday, a swap): who is on call instead from a moment to
    another; nobody named, nobody is."""

    starts_on = _date_field("From day")
    starts = _time_field("at")
    ends_on = _date_field("To day")
    ends = _time_field("at")
    note = forms.CharField(label="Note", max_length=200, required=False)

    def shift_values(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in ("starts_on", "starts", "ends_on", "ends", "note")} | {
            "contacts": self.contacts()
        }


class _ShiftFormSet(forms.BaseFormSet):
    def __init__(self, *args, contacts=(), **kwargs):
        self.contacts = list(contacts)
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "contacts": self.contacts}

    def clean(self):
        # A forged count of rows (below zero) would read as "no rows" and delete them all.
        if self.management_form.cleaned_data.get("TOTAL_FORMS", 0) < 0:
            raise forms.ValidationError("This part of the form was damaged: open the page again.")
        super().clean()

    def kept(self) -> list:
        """The rows to save: filled in and not marked to delete."""
        return [
            form
            for form in self.forms
            if form.has_changed() and form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


# on_call_save's limits. The page at those limits sends 1,412 fields: within
# settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, which says how it is counted.
WeeklyFormSet = forms.formset_factory(
    WeeklySlotForm,
    formset=_ShiftFormSet,
    extra=2,
    can_delete=True,
    max_num=MOST_WEEKLY_SHIFTS,
    validate_max=True,
)
ExceptionFormSet = forms.formset_factory(
    ExceptionForm,
    formset=_ShiftFormSet,
    extra=1,
    can_delete=True,
    max_num=MOST_EXCEPTIONS,
    validate_max=True,
)


def shift_initial(shift) -> dict:
    """A saved shift as its form row shows it."""
    people = [contact.pk for contact in shift.contacts_in_order()]
    values = {name: (people[n] if n < len(people) else None) for n, name in enumerate(PLACES)}
    values.update(starts=shift.starts, ends=shift.ends)
    if shift.is_exception:
        values.update(starts_on=shift.starts_on, ends_on=shift.ends_on, note=shift.note)
    else:
        values["weekday"] = shift.weekday
    return values
