"""/api/: each app's endpoints under v1/ (included by name: the ground floor imports no
app), the OpenAPI schema, its interactive docs, and the page for one's own tokens."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from receptionist import token_views
from receptionist.api import not_found

# Like every page, for people logged in (or with a token) only.
schema = SpectacularAPIView.as_view(permission_classes=[IsAuthenticated])

urlpatterns = [
    path("v1/", include("callers.api")),
    path("v1/", include("calls.api")),
    path("v1/", include("followups.api")),
    re_path(r"^v1/", not_found, name="api-not-found"),
    path("schema/", schema, name="api-schema"),
    # A page: someone not logged in is sent to the login form (DRF marks its views exempt
    # from the site's login redirect; this decorator puts it back).
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("tokens/", token_views.token_list, name="api-tokens"),
    path("tokens/<int:pk>/revoke/", token_views.token_revoke_view, name="api-token-revoke"),
]
