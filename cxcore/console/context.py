"""Template context shared by every console page: the navigation the user is allowed to see."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cxcore.console.roles import ROLE_LABELS, user_roles

# (url name, label, permission needed); areas not built yet are simply not listed.
NAVIGATION = [
    ("console:home", _("Overview"), None),
    ("customers:list", _("Customers"), "customers.view_customer"),
    ("customers:segments", _("Segments"), "customers.view_segment"),
    ("customers:conflicts", _("Identity review"), "customers.view_identityconflict"),
    ("interactions:list", _("Interactions"), "interactions.view_interaction"),
    ("interactions:imports", _("Imports"), "interactions.import_interactions"),
    ("api:tokens", _("API tokens"), "api.add_apitoken"),
    ("customers:audit", _("Audit log"), "customers.view_auditentry"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = request.resolver_match.view_name if request.resolver_match else ""
    # The page's own entry, else the list of its area (a customer page lights "Customers").
    prefixes = {
        "imports": "interactions:import",
        "segments": "customers:segment",
        "conflicts": "customers:conflict",
        "tokens": "api:token",
    }

    def is_current(name: str) -> bool:
        if current == name:
            return True
        prefix = prefixes.get(name.split(":")[1])
        if prefix:
            return current.startswith(prefix)
        area = name.split(":")[0]
        return (
            name.endswith(":list")
            and current.startswith(area + ":")
            and not any(current.startswith(p) for p in prefixes.values())
        )

    items = []
    for name, label, perm in NAVIGATION:
        if perm is None or user.has_perm(perm):
            items.append({"url": reverse(name), "label": label, "current": is_current(name)})
    return {
        "nav_items": items,
        "user_role_labels": [ROLE_LABELS[r] for r in user_roles(user)],
    }
