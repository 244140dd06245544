"""/callers/: the callers app's own pages, and the two caller pages that show calls (the
caller's page and the call form's lookup panel), which calls composes. Mounted here so
that callers imports nothing of calls."""

from django.urls import path

from callers import urls as callers_urls
from calls.views import callers as views

app_name = "callers"
urlpatterns = [
    path("lookup/", views.caller_lookup, name="lookup"),
    path("<int:pk>/", views.caller_detail, name="detail"),
    *callers_urls.urlpatterns,
]
