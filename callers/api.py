"""The REST API of callers (being built)."""

urlpatterns = []
