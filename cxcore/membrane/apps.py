from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembraneConfig(AppConfig):
    name = "cxcore.membrane"
    verbose_name = _("Membrane")

    def ready(self):
        from cxcore.customers.signals import customer_merged
        from cxcore.membrane.services import consents_follow_merge

        customer_merged.connect(
            consents_follow_merge, dispatch_uid="membrane.consents_follow_merge"
        )
