"""The page a login locked by django-axes answers with (AXES_LOCKOUT_CALLABLE): which name
is locked, why, and until when, instead of axes' one line of text."""

from axes.helpers import get_client_ip_address, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.shortcuts import render
from django.utils import timezone


def client_ip(request) -> str | None:
    """The address a login comes from (AXES_CLIENT_IP_CALLABLE). Behind the TLS proxy every
    request comes from the proxy's address: the client's is the last one the proxy added
    to X-Forwarded-For (PROXY_COUNT proxies from the right; anything further left is the
    client's own say). Without it, one person's failures would lock a name for everyone."""
    hops = settings.PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(addresses) >= hops:
            return addresses[-hops]
    return request.META.get("REMOTE_ADDR")


def locked_out(request, original_response=None, credentials=None):
    """429 with the time the lock ends: the cool-off counts from the last failed attempt
    (attempts refused while locked do not move it: AXES_RESET_COOL_OFF_ON_FAILURE_DURING_
    LOCKOUT is off, so waiting is enough)."""
    username = get_client_username(request, credentials) or ""
    cool_off = get_cool_off(request)
    last_failure = AccessAttempt.objects.filter(
        username=username, ip_address=get_client_ip_address(request)
    ).aggregate(last=Max("attempt_time"))["last"]
    until = (last_failure or timezone.now()) + cool_off if cool_off else None
    return render(
        request,
        "registration/locked_out.html",
        {
            "username": username,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cool_off_minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
            "until": until,
            "until_today": until is not None and timezone.localdate(until) == timezone.localdate(),
        },
        status=429,
    )
