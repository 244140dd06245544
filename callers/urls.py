from django.urls import path

from callers import views

app_name = "callers"
urlpatterns = [
    path("", views.caller_list, name="list"),
    path("lookup/", views.caller_lookup, name="lookup"),
    path("<int:pk>/", views.caller_detail, name="detail"),
    path("<int:pk>/edit/", views.caller_edit, name="edit"),
    path("<int:pk>/merge/", views.caller_merge_view, name="merge"),
]
