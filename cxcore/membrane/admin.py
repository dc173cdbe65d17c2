"""Django admin for the membrane: the consent ledger can be read, never changed."""

from django.contrib import admin

from cxcore.lib.admin import ReadOnlyAdmin
from cxcore.membrane.models import ConsentEvent, ConsentWording


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "customer_id", "purpose", "channel", "granted", "source")
    list_filter = ("purpose", "channel", "granted", "source")


@admin.register(ConsentWording)
class ConsentWordingAdmin(ReadOnlyAdmin):
    list_display = ("version", "language", "sha256", "created_at")
