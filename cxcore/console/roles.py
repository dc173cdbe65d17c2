"""Staff roles as Django groups with explicit permissions. This file is their source of truth."""

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

ROLE_LABELS = {
    "admin": _("Administrator"),
    "manager": _("Service manager"),
    "agent": _("Agent"),
    "analyst": _("Analyst"),
    "marketer": _("Marketer"),
    "auditor": _("Auditor"),
}

_READ_CUSTOMERS = ["customers.view_customer", "customers.view_segment"]
_PERSONAL_DATA = ["customers.view_personal_data"]
_EDIT_CUSTOMERS = ["customers.change_customer", "customers.add_customer"]
_SEGMENTS = ["customers.add_segment", "customers.change_segment", "customers.delete_segment"]
_IDENTITY_REVIEW = ["customers.view_identityconflict", "customers.change_identityconflict"]
_READ_INTERACTIONS = ["interactions.view_interaction", "interactions.view_touchpoint"]
_WRITE_INTERACTIONS = ["interactions.add_interaction", "interactions.import_interactions"]
_TOKENS = ["api.add_apitoken"]
# The membrane: consents and preferences are personal data (roles that see names); messages,
# campaigns and policies are aggregate work.
_CONSENTS = [
    "membrane.view_consentevent",
    "membrane.add_consentevent",
    "membrane.view_preference",
    "membrane.change_preference",
    "membrane.add_donotcontact",
    "membrane.view_decision",
]
_SEND_ONE = ["membrane.add_decision"]
_CAMPAIGNS = [
    "membrane.view_message",
    "membrane.add_message",
    "membrane.view_campaign",
    "membrane.add_campaign",
    "membrane.run_campaign",
    "membrane.view_policysetting",
]
# CX leads build surveys; everyone who reads results or enters answers sees them.
_SURVEYS = ["feedback.view_survey", "feedback.add_survey", "feedback.change_survey"]
_READ_SURVEYS = ["feedback.view_survey"]
# Answers one by one (comments, who said what) and keying in paper or phone answers.
_READ_RESPONSES = ["feedback.view_response"]
_ENTER_RESPONSES = ["feedback.add_response", "feedback.add_invitation"]
_READ_CAMPAIGNS = [
    "membrane.view_message",
    "membrane.view_campaign",
    "membrane.view_policysetting",
]
# Text analysis: whoever reads comments or results sees the topic taxonomy; analysts and
# administrators shape it; reading texts on demand (API) and models are analytical work.
_READ_TOPICS = ["text.view_topic"]
_TOPICS = ["text.view_topic", "text.add_topic", "text.change_topic", "text.delete_topic"]
_ANALYSE_TEXT = ["text.analyse_text", "text.view_sentimentmodel"]
_REFERENCE_ADMIN = [
    f"interactions.{verb}_{model}"
    for model in ("touchpoint", "team", "partner", "site", "employee")
    for verb in ("add", "change", "view", "delete")
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "admin": _READ_CUSTOMERS
    + _PERSONAL_DATA
    + _EDIT_CUSTOMERS
    + _SEGMENTS
    + _IDENTITY_REVIEW
    + _READ_INTERACTIONS
    + _WRITE_INTERACTIONS
    + _TOKENS
    + _REFERENCE_ADMIN
    + _CONSENTS
    + _SEND_ONE
    + _CAMPAIGNS
    + ["membrane.change_policysetting", "membrane.change_donotcontact"]
    + _SURVEYS
    + _READ_RESPONSES
    + _ENTER_RESPONSES
    + _TOPICS
    + _ANALYSE_TEXT
    + ["text.add_sentimentmodel", "text.change_sentimentmodel"]
    + [
        "customers.merge_customer",
        "customers.export_customer",
        "customers.view_auditentry",
        "auth.view_user",
    ],
    "manager": _READ_CUSTOMERS
    + _PERSONAL_DATA
    + _EDIT_CUSTOMERS
    + _SEGMENTS
    + _IDENTITY_REVIEW
    + _READ_INTERACTIONS
    + _WRITE_INTERACTIONS
    + _TOKENS
    + _CONSENTS
    + _SEND_ONE
    + _CAMPAIGNS
    + ["membrane.change_donotcontact"]
    + _SURVEYS
    + _READ_RESPONSES
    + _ENTER_RESPONSES
    + _READ_TOPICS
    + _ANALYSE_TEXT
    + ["customers.merge_customer", "customers.export_customer"],
    # Agents talk to customers: they see and correct contact details, and log interactions.
    "agent": _READ_CUSTOMERS
    + _PERSONAL_DATA
    + _EDIT_CUSTOMERS
    + _READ_INTERACTIONS
    + _CONSENTS
    + _READ_SURVEYS
    + _READ_RESPONSES
    + _ENTER_RESPONSES
    + _READ_TOPICS
    + ["interactions.add_interaction"],
    # Analysts and marketers work on patterns and segments, never on names or contact details.
    "analyst": _READ_CUSTOMERS
    + _SEGMENTS
    + _READ_INTERACTIONS
    + _TOKENS
    + _READ_CAMPAIGNS
    + _READ_SURVEYS
    + _READ_RESPONSES
    + _TOPICS
    + _ANALYSE_TEXT,
    # Marketers plan messages and campaigns and see their counts, never one customer's consent.
    "marketer": _READ_CUSTOMERS
    + _SEGMENTS
    + _READ_INTERACTIONS
    + _CAMPAIGNS
    + _READ_SURVEYS
    + _READ_TOPICS,
    # Auditors check promises at touchpoints (mystery shopping); they need no customer at all.
    "auditor": ["interactions.view_touchpoint"],
}


def roles_sync(*, using: str = "default") -> None:
    """Create the role groups and set their permissions exactly to ROLE_PERMISSIONS."""
    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_name = {}
    for permission in Permission.objects.using(using).select_related("content_type"):
        name = f"{permission.content_type.app_label}.{permission.codename}"
        if name in wanted:
            by_name[name] = permission
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set([by_name[p] for p in perms if p in by_name])


def roles_sync_after_migrate(sender, using="default", **kwargs):
    roles_sync(using=using)


def user_roles(user) -> list[str]:
    if not user.is_authenticated:
        return []
    return sorted(
        name for name in user.groups.values_list("name", flat=True) if name in ROLE_LABELS
    )
