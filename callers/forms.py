"""Forms of the callers app."""

from crispy_forms.helper import FormHelper
from django import forms
from django.forms import inlineformset_factory

from callers.models import Caller, CallerPhone


class CallerForm(forms.ModelForm):
    """A caller's details. The caution flag is for managers only."""

    class Meta:
        model = Caller
        fields = [
            "name",
            "email",
            "organisation",
            "things_to_remember",
            "is_vip",
            "caution",
            "caution_note",
        ]
        widgets = {
            "things_to_remember": forms.Textarea(attrs={"rows": 3}),
            "caution_note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, can_flag=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_flag:
            del self.fields["caution"]
            del self.fields["caution_note"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean(self):
        data = super().clean()
        if "caution" in self.fields and not data.get("caution") and data.get("caution_note"):
            self.add_error("caution_note", "A handling note only goes with the caution flag.")
        return data


CallerPhoneFormSet = inlineformset_factory(
    Caller,
    CallerPhone,
    fields=["number", "label"],
    extra=1,
    can_delete=True,
    min_num=0,
    widgets={"number": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})},
)


class CallerSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
