"""What the followups app adds to every page: the callback queue's counts in the navigation."""

from followups.models import Callback


def navigation(request):
    """A callable, so that only pages whose navigation shows the counts pay for the query.
    The queue page has counted already: its numbers are reused rather than counted twice."""
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("followups.view_callback"):
        return {}
    return {
        "callback_counts": lambda: (
            getattr(request, "callback_counts", None)
            or Callback.objects.for_user(user).queue_counts(user)
        )
    }
