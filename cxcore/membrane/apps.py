from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembraneConfig(AppConfig):
    name = "cxcore.membrane"
    verbose_name = _("Membrane")
