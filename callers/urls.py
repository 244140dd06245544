"""The callers app's pages. calls/urls_callers.py mounts them under /callers/ beside the
caller's page and the lookup panel, which show calls and so live in calls."""

from django.urls import path

from callers import views

urlpatterns = [
    path("", views.caller_list, name="list"),
    path("<int:pk>/edit/", views.caller_edit, name="edit"),
    path("<int:pk>/merge/", views.caller_merge_view, name="merge"),
    path("opened/", views.caller_views, name="opened"),
]
