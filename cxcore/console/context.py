"""Template context shared by every console page: the navigation the user is allowed to see."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cxcore.console.roles import ROLE_LABELS, user_roles

# (url name, label, permission needed, the view names it covers); areas not built yet are
# simply not listed. A page lights the entry with the longest prefix of its view name, so a
# customer page lights "Customers" and a segment page "Segments".
NAVIGATION = [
    ("console:home", _("Overview"), None, "console:"),
    ("customers:list", _("Customers"), "customers.view_customer", "customers:"),
    ("customers:segments", _("Segments"), "customers.view_segment", "customers:segment"),
    (
        "customers:conflicts",
        _("Identity review"),
        "customers.view_identityconflict",
        "customers:conflict",
    ),
    ("interactions:list", _("Interactions"), "interactions.view_interaction", "interactions:"),
    (
        "interactions:imports",
        _("Imports"),
        "interactions.import_interactions",
        "interactions:import",
    ),
    ("membrane:home", _("Membrane"), "membrane.view_policysetting", "membrane:"),
    ("membrane:campaigns", _("Campaigns"), "membrane.view_campaign", "membrane:campaign"),
    ("feedback:surveys", _("Surveys"), "feedback.view_survey", "feedback:"),
    # "Topics" of comments, not the topics of messages (« Thèmes », not « Sujets »).
    ("text:topics", pgettext_lazy("text analysis", "Topics"), "text.view_topic", "text:"),
    ("api:tokens", _("API tokens"), "api.add_apitoken", "api:token"),
    ("customers:audit", _("Audit log"), "customers.view_auditentry", "customers:audit"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = request.resolver_match.view_name if request.resolver_match else ""
    covering = [prefix for *_rest, prefix in NAVIGATION if current.startswith(prefix)]
    lit = max(covering, key=len, default=None)
    return {
        "nav_items": [
            {"url": reverse(name), "label": label, "current": prefix == lit}
            for name, label, perm, prefix in NAVIGATION
            if perm is None or user.has_perm(perm)
        ],
        "user_role_labels": [ROLE_LABELS[r] for r in user_roles(user)],
    }
