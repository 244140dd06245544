from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from calls.models import Call, Escalation
from receptionist.admin import SuperuserOnlyAdmin


@admin.register(Call)
class CallAdmin(SuperuserOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["started_at", "caller", "nature", "urgency", "mood", "outcome", "taken_by"]
    list_filter = ["nature", "urgency", "mood", "outcome"]
    list_select_related = ["caller", "taken_by"]
    # Never a dropdown of every caller or user: a million rows would not fit in a page.
    raw_id_fields = ["caller", "taken_by", "business"]
    readonly_fields = ["version", "created_at", "updated_at"]
    show_full_result_count = False
    ordering = ["-started_at", "-id"]


@admin.register(Escalation)
class EscalationAdmin(SuperuserOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["raised_at", "call", "severity", "status", "assigned_to", "ack_deadline"]
    list_filter = ["status", "severity"]
    list_select_related = ["call__caller", "assigned_to"]
    raw_id_fields = ["call", "raised_by", "assigned_to", "acknowledged_by", "resolved_by"]
    show_full_result_count = False
