"""Checks and preparations made before the app serves requests."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secret_key() -> None:
    """Refuse to serve with the built-in development key unless DEBUG is on."""
    if not settings.DEBUG and not settings.SECRET_KEY_FROM_ENVIRONMENT:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")


def warm_up() -> None:
    """Load what every request needs before the first one: the URLconf with the views it
    imports, and both template engines."""
    from django.template import engines
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    engines.all()
