"""The audit log in the Django admin: readable by admins, editable by nobody."""

from django.contrib import admin

from cxcore.customers.models import AuditEntry
from cxcore.lib.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "target", "customer_id", "via", "ip_address"]
    list_filter = ["action", "via"]
    search_fields = ["actor_label", "customer_id"]
