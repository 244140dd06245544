"""Project-wide views: health check and login."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from receptionist.forms import LoginForm


@login_not_required
@transaction.non_atomic_requests
@never_cache
@require_GET
def healthz(request):
    """200 when the database answers, 503 when it does not (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True


def bad_request(request, exception=None):
    """The 400 page. It says why when the reason was written for people (BadRequest, such as
    a bad page cursor), never for SuspiciousOperation, whose message may echo headers."""
    reason = str(exception) if isinstance(exception, BadRequest) else ""
    return render(request, "400.html", {"reason": reason}, status=400)
