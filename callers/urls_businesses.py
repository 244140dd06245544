"""The businesses whose phones are answered, for managers: mounted under /businesses/."""

from django.urls import path

from callers import views

app_name = "businesses"

urlpatterns = [
    path("", views.business_list, name="list"),
    path("new/", views.business_edit, name="new"),
    path("<int:pk>/edit/", views.business_edit, name="edit"),
    path("<int:pk>/active/", views.business_active, name="active"),
    path("<int:pk>/on-call/", views.business_on_call, name="on_call"),
    path("people/", views.people_list, name="people"),
    path("people/new/", views.person_edit, name="person_new"),
    path("people/<int:pk>/edit/", views.person_edit, name="person_edit"),
]
