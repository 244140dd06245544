"""The confirmation link of an urgent message (followups.deliveries), for whoever is on
call: no login needed, since the signed link itself says whose step it is, and it expires.

A GET (or a HEAD, answered as the GET is) shows which business and when, with a Confirm
button; only that button's POST confirms, so a mail scanner that opens every link of an
e-mail confirms nothing. A link
this app did not make is a 400, an expired one a 410, one whose message someone else
confirmed first a 409: each a page that says so and what to do instead."""

from django.contrib.auth.decorators import login_not_required
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from calls.models import DeliveryState
from followups.deliveries import (
    DeliveryAlreadyConfirmed,
    DeliveryWithdrawn,
    LinkExpired,
    LinkInvalid,
    delivery_confirm,
    read_confirm_token,
)
from followups.models import DeliveryStep, MessageDelivery, StepResult
from receptionist.rendering import render

# What the page says, by what became of the link: (heading, HTTP status).
STATES = {
    "ask": ("Confirm the message", 200),
    "confirmed": ("Thank you: confirmed", 200),
    "again": ("You confirmed it already", 200),
    "taken": ("Someone else confirmed it first", 409),
    "already": ("Already confirmed", 200),
    "invalid": ("This link does not work", 400),
    "expired": ("This link has expired", 410),
    "gone": ("No such message", 404),
    "withdrawn": ("No longer needs confirming", 409),
}


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    delivery = step = None
    try:
        delivery_id, step_id = read_confirm_token(token)
    except LinkExpired:
        state = "expired"
    except LinkInvalid:
        state = "invalid"
    else:
        step = (
            DeliveryStep.objects.select_related("delivery__business", "delivery__call")
            .filter(pk=step_id, delivery_id=delivery_id)
            .first()
        )
        state = "gone" if step is None else "ask"
    if step is not None:
        delivery = step.delivery
        if request.method == "POST":
            try:
                delivery, newly = delivery_confirm(delivery_id=delivery.pk, step_id=step.pk)
            except DeliveryAlreadyConfirmed as exc:
                delivery, state = exc.delivery, "taken"
            except DeliveryWithdrawn:
                state = "withdrawn"
            except (MessageDelivery.DoesNotExist, DeliveryStep.DoesNotExist):
                delivery, state = None, "gone"
            else:
                state = "confirmed" if newly else "again"
        elif delivery.state == DeliveryState.STOPPED:
            state = "withdrawn"
        elif delivery.is_confirmed:
            mine = DeliveryStep.objects.filter(pk=step.pk, result=StepResult.CONFIRMED).exists()
            state = "again" if mine else "already"
    heading, status = STATES[state]
    if state == "withdrawn" and request.method != "POST":
        status = 200  # nothing refused: the page says there is nothing to do
    response = render(
        request,
        "followups/delivery_confirm.html",
        {
            "state": state,
            "heading": heading,
            "step": step,
            "delivery": delivery,
            "business": delivery.business if delivery is not None else None,
            "call": delivery.call if delivery is not None else None,
        },
        status=status,
    )
    # The link is the key: no other site is told it (nor is anything cached). Not
    # "no-referrer": the browser then sends its own form's POST with "Origin: null", which
    # the CSRF check rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    return response
