from django.urls import path

from followups import export, report_views

app_name = "reports"
urlpatterns = [
    path("dashboard/", report_views.dashboard, name="dashboard"),
    path("dashboard/repeat-callers/", report_views.repeat_callers, name="repeat"),
    path("reports/minutes/", report_views.minutes, name="minutes"),
    path("reports/minutes.csv", report_views.minutes_csv, name="minutes_csv"),
    path(
        "reports/minutes/<int:pk>/statement.csv",
        report_views.minutes_statement,
        name="minutes_statement",
    ),
    path("calls/export.csv", export.calls_csv, name="calls_csv"),
    path("callbacks/export.csv", export.callbacks_csv, name="callbacks_csv"),
]
