"""The confirmation links of urgent messages (no login): mounted under /deliveries/."""

from django.urls import path

from followups import delivery_views

app_name = "deliveries"
urlpatterns = [
    path("confirm/<str:token>/", delivery_views.confirm, name="confirm"),
]
