"""The audit log in the Django admin: readable by admins, editable by nobody."""

from django.contrib import admin

from cxcore.customers.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "target", "customer_id", "via", "ip_address"]
    list_filter = ["action", "via"]
    search_fields = ["actor_label", "customer_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
