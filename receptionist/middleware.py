"""Middleware of the project."""

from django.conf import settings
from django.shortcuts import resolve_url


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
        return response
