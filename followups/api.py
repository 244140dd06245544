"""The REST API of followups (being built)."""

urlpatterns = []
