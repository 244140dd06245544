"""Template context shared by every page."""


def navigation(request):
    """Counts in the navigation: open escalations for managers, the callback queue for all.

    Callables: the template calls them only where the navigation shows them, so htmx
    fragments do not pay for the queries.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    context = {}
    if user.has_perm("calls.manage_escalation"):
        from calls.models import Escalation

        context["open_escalations"] = lambda: (
            Escalation.objects.for_user(user).filter(status="open").count()
        )
    if user.has_perm("followups.view_callback"):
        from followups.models import Callback

        # The queue page has counted already: reuse its numbers rather than count twice.
        context["callback_counts"] = lambda: (
            getattr(request, "callback_counts", None)
            or Callback.objects.for_user(user).queue_counts(user)
        )
    return context
