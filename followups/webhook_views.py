"""Pages of the webhooks, for managers of every business: the endpoints, one endpoint with
its delivery log, adding and changing one, and its actions (mounted under /webhooks/)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from callers.models import Business
from followups.forms import WebhookEndpointForm
from followups.models import WebhookDelivery, WebhookEndpoint
from followups.webhooks import (
    check_may_manage,
    webhook_delivery_replay,
    webhook_endpoint_delete,
    webhook_endpoint_pause,
    webhook_endpoint_resume,
    webhook_endpoint_save,
    webhook_secret_rotate,
)
from receptionist.forms import add_service_errors
from receptionist.pagination import keyset_paginate
from receptionist.rendering import render

LOG_PAGE_SIZE = 25


def _endpoint_or_404(pk) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=pk)


def endpoint_list(request):
    """Every endpoint: where it sends, what, for which businesses, and whether it is paused."""
    check_may_manage(request.user)
    endpoints = list(WebhookEndpoint.objects.prefetch_related("businesses").order_by("url", "pk"))
    return render(request, "followups/webhook_list.html", {"endpoints": endpoints})


def endpoint_detail(request, pk):
    """An endpoint, its secret, and its delivery log, newest first (keyset pages)."""
    check_may_manage(request.user)
    endpoint = get_object_or_404(WebhookEndpoint.objects.prefetch_related("businesses"), pk=pk)
    page = keyset_paginate(
        request,
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event"),
        key="created_at",
        descending=True,
        size=LOG_PAGE_SIZE,
    )
    return render(request, "followups/webhook_detail.html", {"endpoint": endpoint, "page": page})


def endpoint_edit(request, pk=None):
    """Add an endpoint (no `pk`) or change one (webhook_endpoint_save)."""
    check_may_manage(request.user)
    endpoint = None if pk is None else _endpoint_or_404(pk)
    businesses = list(Business.objects.order_by("-active", "name").only("name", "active"))
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST, businesses=businesses)
        if form.is_valid():
            try:
                saved = webhook_endpoint_save(
                    user=request.user, endpoint=endpoint, **form.endpoint_values()
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                verb = "added: give the receiving system its secret" if pk is None else "saved"
                messages.success(request, f"Endpoint {verb}.")
                return redirect(saved)
    else:
        initial = {}
        if endpoint is not None:
            initial = {
                "url": endpoint.url,
                "description": endpoint.description,
                "events": endpoint.events,
                "businesses": [b.pk for b in endpoint.businesses.all()],
            }
        form = WebhookEndpointForm(initial=initial, businesses=businesses)
    return render(
        request,
        "followups/webhook_form.html",
        {"form": form, "endpoint": endpoint},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def endpoint_rotate(request, pk):
    check_may_manage(request.user)
    webhook_secret_rotate(user=request.user, endpoint_id=_endpoint_or_404(pk).pk)
    messages.success(request, "New secret made: give it to the receiving system.")
    return redirect("webhooks:detail", pk)


@require_POST
def endpoint_pause(request, pk):
    check_may_manage(request.user)
    webhook_endpoint_pause(user=request.user, endpoint_id=_endpoint_or_404(pk).pk)
    messages.success(request, "Paused: nothing is sent to it; its events wait.")
    return redirect("webhooks:detail", pk)


@require_POST
def endpoint_resume(request, pk):
    check_may_manage(request.user)
    webhook_endpoint_resume(user=request.user, endpoint_id=_endpoint_or_404(pk).pk)
    messages.success(request, "Resumed: what waited is sent now.")
    return redirect("webhooks:detail", pk)


@require_POST
def endpoint_delete(request, pk):
    check_may_manage(request.user)
    webhook_endpoint_delete(user=request.user, endpoint_id=_endpoint_or_404(pk).pk)
    messages.success(request, "Endpoint removed, with its log.")
    return redirect("webhooks:list")


@require_POST
def delivery_replay(request, pk):
    check_may_manage(request.user)
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        replay = webhook_delivery_replay(user=request.user, delivery_id=delivery.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Event sent again as delivery #{replay.pk}.")
    return redirect("webhooks:detail", delivery.endpoint_id)
