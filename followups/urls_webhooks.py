"""Webhooks: the endpoints managers configure and the log of what was sent (being built)."""

app_name = "webhooks"
urlpatterns = []
