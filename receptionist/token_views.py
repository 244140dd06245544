"""The page where a person makes, names and revokes their own API tokens."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from receptionist.models import ApiToken
from receptionist.tokens import MOST_LIVE, token_create, token_revoke


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="What will use it",
        help_text="For example: the PBX's screen pop, or the practice software.",
    )


# The token just made, kept in the session for the one page that shows it (after the
# redirect: a reload then neither makes a second token nor shows this one again).
JUST_MADE = "api_token_just_made"


def token_list(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, made = token_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            request.session[JUST_MADE] = made
            return redirect("api-tokens")
    tokens = list(ApiToken.objects.filter(user=request.user))
    return render(
        request,
        "registration/api_tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "made": request.session.pop(JUST_MADE, None),
            "most": MOST_LIVE,
        },
        status=400 if form.errors else 200,
    )


@require_POST
def token_revoke_view(request, pk):
    try:
        token = token_revoke(user=request.user, token_id=pk)
    except ValidationError:
        raise Http404("No such token of yours.") from None
    messages.success(request, f"Token “{token.name}” revoked: it no longer opens the API.")
    return redirect("api-tokens")
