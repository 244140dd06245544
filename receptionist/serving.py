"""Checks and preparations made before the app serves requests."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# .env.example's placeholder: known to anyone who read it, so it signs nothing (with it,
# anyone could forge the links that confirm urgent messages).
PLACEHOLDER_KEY = "change-me"


def require_secret_key() -> None:
    """Refuse to serve with the built-in development key, or .env.example's placeholder,
    unless DEBUG is on."""
    if settings.DEBUG:
        return
    if not settings.SECRET_KEY_FROM_ENVIRONMENT:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    if settings.SECRET_KEY.startswith(PLACEHOLDER_KEY):
        raise ImproperlyConfigured(
            "SECRET_KEY is .env.example's placeholder: set a long random one, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )


def warm_up() -> None:
    """Load what every request needs before the first one: the URLconf with the views it
    imports, and both template engines."""
    from django.template import engines
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    engines.all()


# How many objects may wait in the young generation before a finished request collects them.
YOUNG_AFTER_RESPONSE = 10_000


def collect_garbage_after_responses(young: int = YOUNG_AFTER_RESPONSE) -> None:
    """Collect the young generation once a response has gone out (request_finished: the
    server has written the body) whenever more than `young` objects wait in it.

    What a page leaves in reference cycles (a form and its bound fields, the request and
    its lazily read user) is freed only by the garbage collector. Left to its allocation
    threshold, a collection came in the middle of some request: freeing tens of thousands
    of objects at once, about 20 ms, on an unlucky page. Collected between requests, it
    costs the person nothing; the threshold stays as a backstop."""
    import gc

    from django.core.signals import request_finished

    def collect(**kwargs):
        if gc.get_count()[0] > young:
            gc.collect(0)

    request_finished.connect(collect, weak=False, dispatch_uid="collect_garbage_after_responses")
