"""Django admin for the membrane: the consent ledger can be read, never changed."""

from django.contrib import admin

from cxcore.membrane.models import ConsentEvent, ConsentWording


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "customer_id", "purpose", "channel", "granted", "source")
    list_filter = ("purpose", "channel", "granted", "source")


@admin.register(ConsentWording)
class ConsentWordingAdmin(ReadOnlyAdmin):
    list_display = ("version", "language", "sha256", "created_at")
