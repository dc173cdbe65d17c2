from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "cxcore.console"
    verbose_name = _("Console")

    def ready(self):
        from cxcore.console.roles import roles_sync_after_migrate

        # Roles are code: every migrate brings the groups' permissions back to what roles.py says.
        post_migrate.connect(roles_sync_after_migrate, sender=self)
