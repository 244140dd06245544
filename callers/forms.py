"""Forms of the callers app."""

from crispy_forms.helper import FormHelper
from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from callers import phones
from callers.models import Caller, CallerPhone
from callers.services import EDITABLE_FIELDS


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
