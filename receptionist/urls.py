"""Root URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from receptionist import views
from receptionist.forms import AdminLoginForm

admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The page's "someone is here" while they type without asking for anything (idle.py).
    path("accounts/alive/", views.alive, name="alive"),
    # Anyone logged in changes their own password (the first one a manager gave them).
    path(
        "accounts/password/",
        views.PasswordChangeView.as_view(success_url="/accounts/password/done/"),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # The dashboard, the reports and the exports (some under calls/ and callbacks/).
    path("", include("followups.urls_reports")),
    path("search/", include("calls.urls_search")),
    path("callers/", include("calls.urls_callers")),
    path("calls/", include("calls.urls")),
    path("escalations/", include("calls.urls_escalations")),
    path("callbacks/", include("followups.urls")),
    path("businesses/", include("callers.urls_businesses")),
    path("portal/", include("followups.urls_portal")),
    # The links that confirm an urgent message, sent to whoever is on call (no login).
    path("deliveries/", include("followups.urls_deliveries")),
    # The REST API: each app's endpoints (its api.py), the schema, the docs and the tokens.
    path("api/", include("receptionist.api_urls")),
    # Webhooks: the endpoints managers configure and the log of what was sent.
    path("webhooks/", include("followups.urls_webhooks")),
    path("admin/", admin.site.urls),
]

handler400 = "receptionist.views.bad_request"
handler500 = "receptionist.views.server_error"
