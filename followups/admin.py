from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from callers.models import Business
from followups.models import Callback, CallbackAttempt, CallbackPolicy, Export, PromiseKeeping
from receptionist.admin import SuperuserOnlyAdmin


class OwnBusinessesAdmin(admin.ModelAdmin):
    """Rows of the businesses the person works for only, in the list, the forms and the
    business picker: a manager limited to one business changes that one's rows only (the
    rule followups.services.policy_save keeps in the app)."""

    def get_queryset(self, request):
        return Business.objects.limit(super().get_queryset(request), request.user)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if Business.objects.ids_for(request.user) is None:
            return filters
        return [name for name in filters if name != "business"]  # it lists every business

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "business":
            kwargs["queryset"] = Business.objects.for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CallbackPolicy)
class CallbackPolicyAdmin(OwnBusinessesAdmin):
    """The policy table managers edit: how soon to call back, by nature and urgency."""

    list_display = ["business", "nature", "urgency", "due_within_minutes"]
    list_editable = ["due_within_minutes"]
    list_filter = ["business", "nature", "urgency"]
    ordering = ["business", "nature", "urgency"]


@admin.register(PromiseKeeping)
class PromiseKeepingAdmin(OwnBusinessesAdmin):
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


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """The audit trail of exports: read by superusers, written by the app alone."""

    list_display = ["at", "person", "what", "filter"]
    list_filter = ["what"]
    search_fields = ["person__username", "what", "filter"]
    date_hierarchy = "at"

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
