from django.urls import path

from followups import portal

app_name = "portal"
urlpatterns = [
    path("", portal.messages_list, name="messages"),
    path("calls/<int:pk>/", portal.call_page, name="call"),
    path("calls/<int:pk>/read/", portal.call_read, name="read"),
    path("calls/<int:pk>/confirm/", portal.call_confirm, name="confirm"),
    path("callbacks/", portal.callbacks_list, name="callbacks"),
    path("escalations/", portal.escalations_list, name="escalations"),
    path("summary/", portal.summary, name="summary"),
]
