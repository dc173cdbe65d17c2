"""Segment rules: a small, validated language compiled into one customer filter.

A rule is {"field": ..., "op": ..., "value": ...}; all rules of a segment must hold (AND).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxcore.customers.models import (
    ContactKind,
    ContactPoint,
    DeclaredAttribute,
    Language,
    LifecycleStage,
)

# field -> (allowed ops, human label)
RULE_FIELDS = {
    "lifecycle_stage": ({"in"}, gettext_lazy("Lifecycle stage")),
    "language": ({"eq"}, gettext_lazy("Language")),
    "intensity": ({"gte", "lte"}, gettext_lazy("Relationship intensity")),
    "has_contact": ({"eq"}, gettext_lazy("Has a contact point of kind")),
    "attribute": ({"eq"}, gettext_lazy("Declared attribute")),
    "touchpoint": ({"within_days"}, gettext_lazy("Interacted at touchpoint")),
    "channel": ({"within_days"}, gettext_lazy("Used channel")),
}


def segment_rules_validate(rules) -> list[dict]:
    """Return the rules in canonical form, or raise a ValidationError naming the bad rule."""
    if not isinstance(rules, list):
        raise ValidationError({"rules": _("Rules must be a list.")})
    if len(rules) > 20:
        raise ValidationError({"rules": _("A segment has at most 20 rules.")})
    clean = []
    for index, rule in enumerate(rules, start=1):
        where = _("rule %d") % index
        if not isinstance(rule, dict):
            raise ValidationError({"rules": _("%s is not an object.") % where})
        name, op, value = rule.get("field"), rule.get("op"), rule.get("value")
        if name not in RULE_FIELDS:
            raise ValidationError(
                {
                    "rules": _("%(where)s: unknown field %(field)r.")
                    % {"where": where, "field": name}
                }
            )
        if op not in RULE_FIELDS[name][0]:
            raise ValidationError(
                {
                    "rules": _("%(where)s: operator %(op)r does not apply.")
                    % {"where": where, "op": op}
                }
            )
        problem = _rule_value_problem(name, value)
        if problem:
            raise ValidationError({"rules": f"{where}: {problem}"})
        clean.append({"field": name, "op": op, "value": value})
    return clean


def _rule_value_problem(name: str, value) -> str | None:
    if name == "lifecycle_stage":
        if not isinstance(value, list) or not value or set(value) - set(LifecycleStage.values):
            return _("choose stages among %s.") % ", ".join(LifecycleStage.values)
    elif name == "language":
        if value not in Language.values:
            return _("choose a language among %s.") % ", ".join(Language.values)
    elif name == "intensity":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            return _("intensity is a whole number from 0 to 100.")
    elif name == "has_contact":
        if value not in ContactKind.values:
            return _("choose a contact kind among %s.") % ", ".join(ContactKind.values)
    elif name == "attribute":
        if not (isinstance(value, dict) and value.get("key") and "value" in value):
            return _('give the attribute as {"key": ..., "value": ...}.')
    elif name in {"touchpoint", "channel"} and not (
        isinstance(value, dict)
        and isinstance(value.get("code"), str)
        and isinstance(value.get("days"), int)
        and not isinstance(value["days"], bool)
        and 1 <= value["days"] <= 3650
    ):
        return _('give {"code": ..., "days": 1 to 3650}.')
    elif name == "channel":
        from cxcore.interactions.models import Channel

        if value["code"] not in Channel.values:
            return _("unknown channel %(code)r; use one of %(codes)s.") % {
                "code": value["code"],
                "codes": ", ".join(Channel.values),
            }
    elif name == "touchpoint":
        from cxcore.interactions.models import Touchpoint

        if not Touchpoint.objects.filter(code=value["code"]).exists():
            return _("no touchpoint has the code %r.") % value["code"]
    return None


def segment_filter(rules: list[dict]) -> Q:
    """Compile validated rules into a Q over Customer."""
    from cxcore.interactions.models import Interaction

    condition = Q()
    now = timezone.now()
    for rule in rules:
        name, op, value = rule["field"], rule["op"], rule["value"]
        if name == "lifecycle_stage":
            condition &= Q(lifecycle_stage__in=value)
        elif name == "language":
            condition &= Q(language=value)
        elif name == "intensity":
            condition &= Q(**{f"intensity__{op}": value})
        elif name == "has_contact":
            condition &= Q(Exists(ContactPoint.objects.filter(customer=OuterRef("pk"), kind=value)))
        elif name == "attribute":
            condition &= Q(
                Exists(
                    DeclaredAttribute.objects.filter(
                        customer=OuterRef("pk"), key=value["key"], value=value["value"]
                    )
                )
            )
        elif name in {"touchpoint", "channel"}:
            since = now - timedelta(days=value["days"])
            lookup = (
                {"touchpoint__code": value["code"]}
                if name == "touchpoint"
                else {"channel": value["code"]}
            )
            condition &= Q(
                Exists(
                    Interaction.objects.filter(
                        customer=OuterRef("pk"), occurred_at__gte=since, **lookup
                    )
                )
            )
    return condition
