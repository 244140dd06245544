"""What the calls app adds to every page: the open escalations count in the navigation."""

from calls.models import Escalation, EscalationStatus


def navigation(request):
    """A callable, so that only pages whose navigation shows the count pay for its query
    (htmx fragments do not)."""
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("calls.manage_escalation"):
        return {}
    return {
        "open_escalations": lambda: (
            Escalation.objects.for_user(user).filter(status=EscalationStatus.OPEN).count()
        )
    }
