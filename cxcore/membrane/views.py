"""Console pages of the membrane: policies, messages, campaigns, and a customer's consents."""

from __future__ import annotations

from dataclasses import asdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cxcore.console.access import is_htmx, role_required
from cxcore.console.forms import form_errors_from
from cxcore.customers.queries import customer_get_for
from cxcore.customers.services import audit_record
from cxcore.lib.actor import Actor
from cxcore.lib.csvsafe import csv_lines
from cxcore.membrane import letters, policy, queries, services
from cxcore.membrane.forms import (
    CampaignForm,
    DoNotContactForm,
    MessageForm,
    PolicyForm,
    SendMessageForm,
    StaffConsentForm,
    StaffPreferenceForm,
)
from cxcore.membrane.models import (
    Campaign,
    Delivery,
    DoNotContact,
    MessageChannel,
    Purpose,
)
from cxcore.membrane.reasons import REASON_TEXTS, reason_text, reasons_for_display

# Lazy: read at import, shown in each reader's language.
POLICY_DESCRIPTIONS = {
    "expiry": gettext_lazy("A message past its expiry date is never sent."),
    "consent": gettext_lazy(
        "Legal consent for the purpose and channel; purposes without opt-in honour refusals."
    ),
    "do_not_contact": gettext_lazy("A channel marked do-not-contact is never used."),
    "address": gettext_lazy("The customer has a usable address for the channel."),
    "channel_preference": gettext_lazy(
        "The customer's channels, in their order; the company's otherwise."
    ),
    "marketing_pause": gettext_lazy("Marketing waits while the customer paused it."),
    "relevance": gettext_lazy("The message's topics must match the customer's declared interests."),
    "bad_experience": gettext_lazy(
        "An open complaint, or a bad experience in the last days, holds marketing."
    ),
    "duplicate": gettext_lazy("The same message is not sent twice within the set days."),
    "survey_recontact": gettext_lazy("One survey per period, never two for the same interaction."),
    "quiet_hours": gettext_lazy(
        "Held during quiet hours in the customer's time zone; never dropped."
    ),
    "frequency": gettext_lazy(
        "Caps over rolling weeks and months, counting only what was sent; service messages "
        "count only toward the customer's overall cap."
    ),
}


# --- policies ----------------------------------------------------------------------------------


@role_required("membrane.view_policysetting")
def home(request):
    params = queries.policy_params_all()
    forms_by_purpose = {}
    for purpose, values in params.items():
        initial = asdict(values)
        forms_by_purpose[purpose] = PolicyForm(initial=initial, prefix=purpose)
    return render(
        request,
        "membrane/home.html",
        {
            "policies": [(code, POLICY_DESCRIPTIONS[code]) for code in policy.POLICY_ORDER],
            "purposes": [
                (Purpose(p).label, p, params[p], forms_by_purpose[p]) for p in policy.PURPOSES
            ],
            "campaigns": queries.campaigns_list()[:10],
        },
    )


@require_POST
@role_required("membrane.change_policysetting")
def policy_edit(request, purpose):
    if purpose not in Purpose.values:
        return redirect("membrane:home")
    form = PolicyForm(request.POST, prefix=purpose)
    if form.is_valid():
        try:
            services.policy_update(
                actor=Actor.from_request(request), purpose=purpose, changes=form.cleaned_data
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Policy parameters saved; the change is logged."))
    else:
        messages.error(
            request,
            " ".join(f"{form.fields[n].label}: {' '.join(e)}" for n, e in form.errors.items()),
        )
    return redirect("membrane:home")


# --- messages and campaigns --------------------------------------------------------------------


@role_required("membrane.view_message")
def message_list(request):
    return render(request, "membrane/messages.html", {"messages_list": queries.messages_list()})


@role_required("membrane.add_message")
def message_new(request):
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.message_create(
                actor=Actor.from_request(request),
                name=data["name"],
                purpose=data["purpose"],
                topics=[t for t in data["topics"].split(",") if t.strip()],
                priority=data["priority"],
                expires_at=data["expires_at"],
                team_id=data["team"].pk if data["team"] else None,
                variants=form.variants(),
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Message saved."))
            return redirect("membrane:messages")
    return render(request, "membrane/message_form.html", {"form": form})


@role_required("membrane.view_campaign")
def campaign_list(request):
    return render(request, "membrane/campaigns.html", {"campaigns": queries.campaigns_list()})


@role_required("membrane.add_campaign")
def campaign_new(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(
                actor=Actor.from_request(request), **form.cleaned_data
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            return redirect("membrane:campaign", campaign.pk)
    return render(request, "membrane/campaign_form.html", {"form": form})


def _breakdown_rows(result: dict) -> list[dict]:
    """A dry run or results breakdown as table rows with readable reasons."""
    rows = []
    for key, count in (result.get("reasons") or {}).items():
        outcome, _sep, code = key.partition(":")
        rows.append(
            {
                "outcome": outcome,
                "code": code,
                "text": reason_text(code) if code in REASON_TEXTS else code,
                "count": count,
            }
        )
    return rows


def _channel_rows(result: dict) -> list[dict]:
    rows = []
    for key, count in (result.get("channels") or {}).items():
        outcome, _sep, channel = key.partition(":")
        label = MessageChannel(channel).label if channel in MessageChannel.values else channel
        rows.append({"outcome": outcome, "channel": label, "count": count})
    return rows


@role_required("membrane.view_campaign")
def campaign_detail(request, pk):
    campaign = get_object_or_404(queries.campaigns_list(), pk=pk)
    context = {
        "campaign": campaign,
        "dry_reasons": _breakdown_rows(campaign.dry_run),
        "dry_channels": _channel_rows(campaign.dry_run),
        "breakdown": queries.campaign_breakdown(campaign)
        if campaign.status != Campaign.Status.DRAFT
        else None,
    }
    if is_htmx(request):
        return render(request, "membrane/campaign_detail.html#dry_run", context)
    return render(request, "membrane/campaign_detail.html", context)


@require_POST
@role_required("membrane.view_campaign")
def campaign_dry_run(request, pk):
    campaign = get_object_or_404(Campaign, pk=pk)
    services.campaign_dry_run(campaign=campaign)
    if is_htmx(request):
        return campaign_detail(request, pk)
    return redirect("membrane:campaign", pk)


@require_POST
@role_required("membrane.run_campaign")
def campaign_start(request, pk):
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        services.campaign_start(actor=Actor.from_request(request), campaign=campaign)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The campaign will be decided and sent from its date."))
    return redirect("membrane:campaign", pk)


def _campaign_deliveries(pk):
    return Delivery.objects.filter(
        decision__campaign_id=pk, status__in=[Delivery.Status.SENT, Delivery.Status.SENDING]
    )


@role_required("membrane.run_campaign", "customers.view_personal_data")
def campaign_letters(request, pk):
    campaign = get_object_or_404(Campaign, pk=pk)
    audit_record(
        actor=Actor.from_request(request), action="export", target=f"letters:{campaign.pk}"
    )
    response = HttpResponse(
        letters.letters_pdf(_campaign_deliveries(pk)), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="letters-{campaign.pk}.pdf"'
    return response


@role_required("membrane.view_decision", "customers.view_personal_data")
def campaign_calls(request, pk):
    campaign = get_object_or_404(Campaign, pk=pk)
    calls = letters.call_list(_campaign_deliveries(pk))
    if request.GET.get("format") == "csv":
        audit_record(
            actor=Actor.from_request(request), action="export", target=f"calls:{campaign.pk}"
        )
        header = [_("Reference"), _("Name"), _("Phone"), _("Language"), _("Script")]
        rows = [[c.customer_reference, c.recipient_name, c.to, c.language, c.body] for c in calls]
        response = HttpResponse(csv_lines([header, *rows]), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="calls-{campaign.pk}.csv"'
        return response
    return render(request, "membrane/calls.html", {"campaign": campaign, "calls": calls})


# --- one customer ------------------------------------------------------------------------------


@role_required("membrane.view_consentevent", "customers.view_personal_data")
def customer_membrane(request, pk):
    customer = customer_get_for(request.user, pk)
    return _customer_page(request, customer)


def _customer_page(request, customer, **forms_in):
    data = queries.customer_membrane(customer)
    matrix = [
        (
            Purpose(purpose).label,
            [data["consent_states"].get((purpose, channel)) for channel in MessageChannel.values],
        )
        for purpose in Purpose.values
    ]
    decisions = [
        {"decision": d, "reasons": reasons_for_display(d.reason_set.reasons)}
        for d in data["decisions"]
    ]
    audit_record(
        actor=Actor.from_request(request), action="view", target="consents", customer_id=customer.pk
    )
    return render(
        request,
        "membrane/customer.html",
        {
            "customer": customer,
            "channels": MessageChannel.choices,
            "matrix": matrix,
            "history": data["consent_history"],
            "preference": data["preference"],
            "do_not_contact": data["do_not_contact"],
            "decisions": decisions,
            "consent_form": forms_in.get("consent_form") or StaffConsentForm(),
            "dnc_form": forms_in.get("dnc_form") or DoNotContactForm(),
            "send_form": forms_in.get("send_form") or SendMessageForm(),
            "preference_form": forms_in.get("preference_form")
            or StaffPreferenceForm.for_preference(data["preference"]),
        },
        status=400 if forms_in else 200,
    )


@require_POST
@role_required("membrane.add_consentevent", "customers.view_personal_data")
def customer_consent_add(request, pk):
    customer = customer_get_for(request.user, pk)
    form = StaffConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.consent_record(
                actor=Actor.from_request(request),
                customer=customer,
                purpose=data["purpose"],
                channel=data["channel"],
                granted=data["granted"],
                source=data["source"],
                wording=services.consent_wording_for(
                    text=data["wording"], language=customer.language, version="staff"
                ),
                occurred_at=data["occurred_at"],
                note=data["note"],
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Consent recorded."))
            return redirect("membrane:customer", pk)
    return _customer_page(request, customer, consent_form=form)


@require_POST
@role_required("membrane.change_preference", "customers.view_personal_data")
def customer_preferences(request, pk):
    customer = customer_get_for(request.user, pk)
    form = StaffPreferenceForm(request.POST)
    if form.is_valid():
        current = queries.customer_membrane(customer)["preference"]
        try:
            services.preferences_save(
                actor=Actor.from_request(request),
                customer=customer,
                data=form.preference_data(current),
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Preferences saved."))
            return redirect("membrane:customer", pk)
    return _customer_page(request, customer, preference_form=form)


@require_POST
@role_required("membrane.add_donotcontact", "customers.view_personal_data")
def customer_dnc_add(request, pk):
    customer = customer_get_for(request.user, pk)
    form = DoNotContactForm(request.POST)
    if form.is_valid():
        services.do_not_contact_set(
            actor=Actor.from_request(request), customer=customer, **form.cleaned_data
        )
        messages.success(request, _("Channel marked do-not-contact."))
        return redirect("membrane:customer", pk)
    return _customer_page(request, customer, dnc_form=form)


@require_POST
@role_required("membrane.change_donotcontact", "customers.view_personal_data")
def customer_dnc_lift(request, pk, entry_pk):
    customer = customer_get_for(request.user, pk)
    entry = get_object_or_404(DoNotContact, pk=entry_pk, customer=customer)
    services.do_not_contact_lift(actor=Actor.from_request(request), entry=entry)
    messages.success(request, _("Do-not-contact lifted."))
    return redirect("membrane:customer", pk)


@require_POST
@role_required("membrane.add_decision", "customers.view_personal_data")
def customer_send(request, pk):
    customer = customer_get_for(request.user, pk)
    form = SendMessageForm(request.POST)
    if not form.is_valid():
        return _customer_page(request, customer, send_form=form)
    decision, _recorded = services.decision_make(
        customer=customer, message=form.cleaned_data["message"], record=True
    )
    audit_record(
        actor=Actor.from_request(request),
        action="message_decided",
        target=f"message:{form.cleaned_data['message'].pk}",
        customer_id=customer.pk,
        changes={"outcome": decision.outcome},
    )
    if decision.outcome == policy.BLOCK:
        messages.error(
            request, _("Not sent: %(reason)s") % {"reason": reason_text(decision.blocking_reason)}
        )
    else:
        messages.success(request, _("The membrane let the message through; see the log below."))
    return redirect("membrane:customer", pk)
