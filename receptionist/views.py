"""Project-wide views: health check and login."""

import functools
import sys

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from receptionist.forms import LoginForm
from receptionist.idle import idle_seconds
from receptionist.rendering import render


@never_cache
def database_health(request):
    """200 when the database answers, 503 when it does not (for load balancers). Served by
    HealthCheckMiddleware, before the Host header is checked; GET and HEAD only."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse(
            "database unavailable",
            status=503,
            content_type="text/plain",
            headers={"Retry-After": "10"},
        )
    return HttpResponse("ok", content_type="text/plain")


# The same answer through the URL conf, so that reverse("healthz") and tests find it.
healthz = login_not_required(transaction.non_atomic_requests(require_GET(database_health)))


# Wrong current passwords in a row, in one session, before it is ended.
OLD_PASSWORD_TRIES = 5
OLD_PASSWORD_FAILURES = "_old_password_failures"


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, with the login's limit on guessing: someone at a computer left logged in
    cannot try current passwords without end (after OLD_PASSWORD_TRIES wrong ones the
    session ends, and logging in again is under the login's lockout)."""

    def form_invalid(self, form):
        if "old_password" not in form.errors:
            return super().form_invalid(form)
        session = self.request.session
        session[OLD_PASSWORD_FAILURES] = failures = session.get(OLD_PASSWORD_FAILURES, 0) + 1
        if failures >= OLD_PASSWORD_TRIES:
            logout(self.request)
            messages.error(
                self.request,
                f"The current password was wrong {OLD_PASSWORD_TRIES} times: you have been "
                "logged out. Log in again to change it.",
            )
            return redirect("login")
        return super().form_invalid(form)

    def form_valid(self, form):
        self.request.session.pop(OLD_PASSWORD_FAILURES, None)
        return super().form_valid(form)


@require_GET
def alive(request):
    """204: the person is at the computer (receptionist.idle counts this request as the
    activity it is; the page sends it while they type without asking for anything)."""
    return HttpResponse(status=204)


def start_page(user) -> str:
    """Where a person starts: managers on the escalation queue, the front desk on the call
    form, a client business in its portal. (URL names only: this module imports no app.)"""
    if user.has_perm("calls.manage_escalation"):
        return "escalations:queue"
    if not user.has_perm("calls.add_call") and user.has_perm("calls.read_messages"):
        return "portal:messages"  # someone at a client business
    return "calls:new"


def home(request):
    return redirect(start_page(request.user))


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["idle_minutes"] = round(idle_seconds() / 60)
        return context

    def get_default_redirect_url(self):
        return resolve_url(start_page(self.request.user))


def _for_the_api(request) -> bool:
    """An address of the REST API: its refusals are JSON, as its endpoints' are."""
    return request.path_info.startswith("/api/v1/")


def bad_request(request, exception=None):
    """The 400 page. It says why when the reason was written for people (BadRequest, such as
    a bad page cursor), never for SuspiciousOperation, whose message may echo headers."""
    reason = str(exception) if isinstance(exception, BadRequest) else ""
    if _for_the_api(request):
        return JsonResponse({"detail": reason or "The request was not understood."}, status=400)
    return render(request, "400.html", {"reason": reason}, status=400)


# Fields a page never writes back into its retry form (any name holding one of these):
# passwords, and secrets such as a webhook's signing secret, are typed again.
NOT_KEPT = ("password", "passwd", "secret", "token")
# Fields kept for the retry but not listed as "what you typed".
NOT_SHOWN = {"csrfmiddlewaretoken", "submission_key", "version", "expected_version", "next"}


def database_unavailable(request):
    """503 while the database does not answer (a restart, a failover, a network fault).

    Drawn without the request's context (the navigation, the user and the session all need
    the database). A form sent meanwhile is kept: the page holds what was posted in a form
    that sends it again, and lists it, so that nothing typed during the outage is lost (a
    call sent twice is logged once: its submission key)."""
    retry_after = {"Retry-After": "10"}
    if _for_the_api(request):
        return JsonResponse(
            {"detail": "The database is not answering: nothing was saved. Try again shortly."},
            status=503,
            headers=retry_after,
        )
    kept, shown = [], []
    if request.method == "POST":
        for name, values in request.POST.lists():
            if name != "csrfmiddlewaretoken" and any(word in name.lower() for word in NOT_KEPT):
                continue
            for value in values:
                kept.append((name, value))
                if value.strip() and name not in NOT_SHOWN:
                    shown.append((name.replace("_", " ").capitalize(), value))
    # The same address, or the start page: never another site's ("//evil.example/").
    action = request.get_full_path()
    if not url_has_allowed_host_and_scheme(action, allowed_hosts=None):
        action = "/"
    page = render_to_string("503.html", {"kept": kept, "shown": shown, "action": action})
    # Its own headers: it may be made before the middleware that adds them has run.
    return HttpResponse(
        page,
        status=503,
        headers={
            **retry_after,
            "Content-Security-Policy": (
                "default-src 'self'; script-src 'none'; style-src 'self'; "
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ),
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


def server_error(request):
    """The 500 page (Django's own), or for the API its JSON; 503 when the reason is the
    database not answering (handler500 runs inside the handler's `except`)."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable(request)
    if _for_the_api(request):
        return JsonResponse({"detail": "Server error: it has been logged."}, status=500)
    return defaults.server_error(request)


def navigation_badge(permission: str):
    """A navigation badge that every page fetches after it is shown, then every 10 seconds
    (GET only, for people with `permission`).

    A session that has ended stops the polling (htmx's 286) instead of sending the page to
    the login form: nobody loses what they were typing."""

    def decorator(view):
        @functools.wraps(view)
        def badge(request, *args, **kwargs):
            if not request.user.is_authenticated:
                # Why it ended, for the page to say on the login page (static/js/app.js).
                why = "idle" if getattr(request, "idle_logged_out", False) else "ended"
                return HttpResponse(status=286, headers={"X-Session-Ended": why})
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_not_required(require_GET(badge))

    return decorator
