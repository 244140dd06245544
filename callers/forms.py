"""Forms of the callers app: callers and their numbers, and the businesses."""

import re
import zoneinfo
from datetime import time

from crispy_forms.helper import FormHelper
from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from callers import phones
from callers.models import Business, Caller, CallerPhone, Weekday
from callers.services import EDITABLE_FIELDS, MOST_CONTACTS
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

    def clean(self):
        cleaned = super().clean()
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
        return values


class ContactForm(forms.Form):
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
        {name: form.cleaned_data.get(name) or "" for name in ("name", "email", "phone", "role")}
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
