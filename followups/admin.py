from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from followups.models import Callback, CallbackAttempt, CallbackPolicy, PromiseKeeping
from receptionist.admin import SuperuserOnlyAdmin


@admin.register(CallbackPolicy)
class CallbackPolicyAdmin(admin.ModelAdmin):
    """The policy table managers edit: how soon to call back, by nature and urgency."""

    list_display = ["business", "nature", "urgency", "due_within_minutes"]
    list_editable = ["due_within_minutes"]
    list_filter = ["business", "nature", "urgency"]
    ordering = ["business", "nature", "urgency"]


@admin.register(PromiseKeeping)
class PromiseKeepingAdmin(admin.ModelAdmin):
    """Per business: the team keeps its promises to call back, or the person who promised."""

    list_display = ["business", "kept_by"]
    list_editable = ["kept_by"]
    ordering = ["business"]


class CallbackAttemptInline(admin.TabularInline):
    model = CallbackAttempt
    extra = 0
    raw_id_fields = ["attempted_by"]


@admin.register(Callback)
class CallbackAdmin(SuperuserOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["due_at", "caller", "status", "priority", "assigned_to", "claimed_by"]
    list_filter = ["status", "priority"]
    list_select_related = ["caller", "assigned_to", "claimed_by"]
    raw_id_fields = [
        "call",
        "caller",
        "business",
        "assigned_to",
        "claimed_by",
        "closed_by",
        "created_by",
    ]
    readonly_fields = ["version", "later_calls"]
    inlines = [CallbackAttemptInline]
    show_full_result_count = False
