"""The console's overview page."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext

from cxcore.customers import queries as customer_queries
from cxcore.customers.models import IdentityConflict
from cxcore.interactions import queries as interaction_queries


@login_required
def home(request):
    # Every staff member has an overview; each figure only for those allowed to see it.
    user = request.user
    context = {}
    since = timezone.now() - timedelta(days=30)
    if user.has_perm("customers.view_customer"):
        context["stages"] = customer_queries.lifecycle_counts()
        context["customer_count"] = sum(row["total"] for row in context["stages"])
    if user.has_perm("customers.view_identityconflict"):
        context["open_conflicts"] = IdentityConflict.objects.filter(status="open").count()
    if user.has_perm("interactions.view_interaction"):
        context["by_channel"] = interaction_queries.interaction_counts_by_channel(since=since)
        context["recent_total"] = sum(row["total"] for row in context["by_channel"])
        context["by_month"] = interaction_queries.interaction_counts_by_month(
            since=timezone.now() - timedelta(days=548)
        )
        # Labels in the reader's language, for the chart (the table below formats its own).
        context["by_month_chart"] = {
            "labels": [formats.date_format(row["month"], "M Y") for row in context["by_month"]],
            "values": [row["total"] for row in context["by_month"]],
            "name": gettext("Interactions"),
        }
    return render(request, "console/home.html", context)


home.required_permissions = ()
