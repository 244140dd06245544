"""Middleware of the project."""

from django.conf import settings
from django.core.exceptions import BadRequest
from django.db import DEFAULT_DB_ALIAS, transaction
from django.shortcuts import resolve_url

from receptionist.views import database_health


class HealthCheckMiddleware:
    """Answer /healthz before anything looks at the Host header.

    Load balancers and docker-compose's health check call it by address
    (http://127.0.0.1:8000/healthz), which is not in ALLOWED_HOSTS in production; any
    later middleware would refuse it as DisallowedHost. Only this one path is answered
    here, and it says nothing but whether the database answers: every other page still
    refuses a host it does not know.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return database_health(request)
        return self.get_response(request)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every page and answer of the app (static files, which
    whitenoise serves with their own Cache-Control, are cached for good).

    Front desks share computers: after one person logs out, nothing they read (a caller's
    name, a message, a call's notes) may be shown again from the browser's cache or its
    back button. A view that sets its own Cache-Control keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


class RefuseNulInQueryMiddleware:
    """A NUL character in the address (its path or its parameters) is a 400 with the reason.

    No person types one, and PostgreSQL refuses it in any text it is given, so it would
    otherwise surface as a server error wherever a parameter reaches a query. Forms refuse
    it on their own fields (Django's CharField does), keeping what was typed; this covers
    the query string, where nothing typed is at stake.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            raise BadRequest("The address has a NUL character in it: remove it and try again.")
        return self.get_response(request)


class HtmxLoginRedirectMiddleware:
    """When a session has expired, send an htmx request to the login page as a whole page.

    Without this, htmx would follow the redirect and swap the login form into whatever
    fragment it was refreshing (the caller panel, a table body).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.headers.get("HX-Request") == "true"
            and response.status_code == 302
            and response.get("Location", "").startswith(resolve_url(settings.LOGIN_URL))
        ):
            response.status_code = 204
            response["HX-Redirect"] = response["Location"]
            if getattr(request, "idle_logged_out", False):
                # The login page says why (receptionist.idle).
                response["HX-Redirect"] += "&idle=1"
        return response


class AtomicWritesMiddleware:
    """ATOMIC_REQUESTS for the requests that may write: a POST (PUT, PATCH, DELETE) runs
    its view in one transaction, committed when the view returns and rolled back when it
    raises, as Django's ATOMIC_REQUESTS does.

    A GET only reads. Under PostgreSQL's READ COMMITTED each statement sees its own
    snapshot whether or not a transaction surrounds it, so a transaction around a page
    gave nothing but two round trips (BEGIN, COMMIT) on every page.

    Last in MIDDLEWARE, so every other middleware's process_view (the CSRF check, login
    required) has run; a view marked with transaction.non_atomic_requests is left alone.
    The services that write open their own transactions as well: the API and the sweeps
    call them without any request.
    """

    READS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        if request.method in self.READS or DEFAULT_DB_ALIAS in getattr(
            view, "_non_atomic_requests", set()
        ):
            return None
        with transaction.atomic():
            return view(request, *args, **kwargs)
