from django.urls import path

from calls.views import escalations as views

app_name = "escalations"
urlpatterns = [
    path("", views.escalation_queue, name="queue"),
    path("count/", views.escalation_count, name="count"),
    path("mine/", views.escalation_mine, name="mine"),
    path("resolved/", views.escalation_resolved, name="resolved"),
    path("availability/", views.availability_toggle, name="availability"),
    path("<int:pk>/", views.escalation_detail, name="detail"),
    path("<int:pk>/acknowledge/", views.escalation_acknowledge_view, name="acknowledge"),
    path("<int:pk>/assign/", views.escalation_assign_view, name="assign"),
    path("<int:pk>/resolve/", views.escalation_resolve_view, name="resolve"),
]
