from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from callers.models import Business, Caller, CallerPhone
from receptionist.admin import SuperuserOnlyAdmin


@admin.register(Business)
class BusinessAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    list_display = ["name", "time_zone"]
    search_fields = ["name"]


class CallerPhoneInline(admin.TabularInline):
    model = CallerPhone
    extra = 0


@admin.register(Caller)
class CallerAdmin(SuperuserOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["name", "organisation", "is_vip", "caution", "business"]
    list_filter = ["is_vip", "caution", "business"]
    search_fields = ["name", "organisation", "phones__number"]
    list_select_related = ["business"]
    inlines = [CallerPhoneInline]
    show_full_result_count = False
