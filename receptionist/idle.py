"""Idle sessions on shared front-desk computers: after SESSION_IDLE_MINUTES without anything
done, the session ends.

Activity is what a person does: pages and forms, the lookups they type, and the pings the
page sends while they type or move the mouse without asking for anything (static/js/app.js,
at most one per ping interval). The navigation badges and the queues that refresh
themselves are not activity (they send X-Poll). The moment last seen is kept in the session
and written at most once per ping interval (a session write a minute, not one a request).

The page warns a minute before and, at the limit, keeps what was typed in the tab's
sessionStorage, logs out and goes to the login page, which sends the person back to the
page with the text restored (app.js). The server ends the session by itself too (a closed
laptop, a page without the script), a ping interval later than the page would: the page's
last activity may be up to one interval newer than the session's."""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout, user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver

SEEN = "_idle_seen"


def _a_page(request) -> bool:
    """A page asked for by the browser (not htmx, not the API, not a form sent)."""
    return (
        request.method == "GET"
        and not request.headers.get("HX-Request")
        and not request.path_info.startswith("/api/")
    )


def idle_seconds() -> int:
    """Seconds without activity before a session ends (0: never)."""
    return settings.SESSION_IDLE_SECONDS


def ping_seconds(idle: int) -> int:
    """How often, at most, the page tells the server that someone is active."""
    return max(1, min(60, idle // 4))


@receiver(user_logged_in)
def _seen_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SEEN] = int(time.time())


class IdleSessionMiddleware:
    """Ends a session idle for longer than the setting (after AuthenticationMiddleware,
    before LoginRequiredMiddleware: the request goes on as an anonymous one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        idle = idle_seconds()
        if idle and settings.SESSION_COOKIE_NAME in request.COOKIES:
            self._check(request, idle)
            if getattr(request, "idle_logged_out", False) and _a_page(request):
                # Straight to the login page, which says why and brings them back here.
                login = redirect_to_login(request.get_full_path())
                login["Location"] += "&idle=1"
                return login
        return self.get_response(request)

    def _check(self, request, idle: int) -> None:
        session = request.session
        if SESSION_KEY not in session:
            return
        now = int(time.time())
        seen = session.get(SEEN)
        ping = ping_seconds(idle)
        if seen is not None and now - seen > idle + ping:
            logout(request)
            request.idle_logged_out = True
            return
        if request.headers.get("X-Poll"):
            return
        if seen is None or now - seen >= ping:
            session[SEEN] = now
