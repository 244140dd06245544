"""Template context shared by every page."""


def navigation(request):
    """The count of open escalations, for managers, in the navigation of every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("calls.manage_escalation"):
        return {}
    from calls.models import Escalation

    # A callable: the template calls it only where the navigation shows it, so htmx
    # fragments do not pay for the query.
    return {
        "open_escalations": lambda: Escalation.objects.for_user(user).filter(status="open").count()
    }
