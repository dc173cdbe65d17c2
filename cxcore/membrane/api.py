"""REST endpoints of the membrane: consents, preferences, decisions, messages, campaigns."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time
from typing import Literal

from django.db import transaction
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema

from cxcore.api.auth import require
from cxcore.customers.models import Segment
from cxcore.customers.queries import customer_get_for
from cxcore.membrane import queries, services
from cxcore.membrane.models import (
    Campaign,
    ConsentEvent,
    ConsentState,
    Decision,
    Message,
    Preference,
)
from cxcore.membrane.reasons import reasons_for_display

router = Router(tags=["membrane"])

PurposeName = Literal["service", "marketing", "feedback", "personalisation", "research"]
ChannelName = Literal["email", "sms", "postal", "phone", "webhook"]
SourceName = Literal["web_form", "preference_centre", "api", "import", "staff", "paper"]


class WordingIn(Schema):
    text: str = Field(min_length=1, max_length=5000, description="The exact text shown.")
    language: Literal["fr", "en"]
    version: str = Field("", max_length=50)


class ConsentChangeIn(Schema):
    purpose: PurposeName
    channel: ChannelName
    granted: bool
    occurred_at: datetime | None = None


class ConsentsIn(Schema):
    source: SourceName
    wording: WordingIn
    changes: list[ConsentChangeIn] = Field(min_length=1, max_length=50)
    note: str = Field("", max_length=300)
    user_agent: str = Field("", max_length=300)


class PurposeCaps(Schema):
    week: int | None = Field(None, ge=0, le=100)
    month: int | None = Field(None, ge=0, le=100)


class PreferencesIn(Schema):
    channels: list[ChannelName] = Field(default_factory=list, max_length=5)
    topics: list[str] = Field(default_factory=list, max_length=30)
    max_per_week: int | None = Field(None, ge=0, le=100)
    max_per_month: int | None = Field(None, ge=0, le=100)
    purpose_caps: dict[PurposeName, PurposeCaps] = Field(default_factory=dict)
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_days: list[int] = Field(default_factory=list, max_length=7)
    accessibility: list[Literal["no_digital", "large_print", "easy_read", "hearing"]] = Field(
        default_factory=list
    )
    marketing_paused_until: datetime | None = None


class DoNotContactIn(Schema):
    channel: ChannelName
    reason: Literal["unsubscribed", "bounced", "complaint", "staff"]
    note: str = Field("", max_length=300)


class DecisionIn(Schema):
    customer: int
    message: int
    interaction: int | None = None
    send: bool = Field(False, description="Record the decision and deliver it when allowed.")


class VariantIn(Schema):
    channel: ChannelName
    language: Literal["fr", "en"]
    subject: str = Field("", max_length=200)
    body: str = Field(min_length=1, max_length=20000)


class MessageIn(Schema):
    name: str = Field(min_length=1, max_length=150)
    purpose: PurposeName
    topics: list[str] = Field(default_factory=list, max_length=30)
    priority: int = Field(3, ge=1, le=5)
    expires_at: datetime | None = None
    team: int | None = None
    variants: list[VariantIn] = Field(min_length=1, max_length=10)


class PolicyIn(Schema):
    """Only the parameters sent change; `null` for a cap or quiet hour means none."""

    consent_required: bool | None = None
    relevance_minimum: float | None = Field(None, ge=0, le=1)
    bad_experience_days: int | None = Field(None, ge=0, le=3650)
    duplicate_days: int | None = Field(None, ge=0, le=3650)
    survey_recontact_days: int | None = Field(None, ge=0, le=3650)
    week_cap: int | None = Field(None, ge=0, le=100)
    month_cap: int | None = Field(None, ge=0, le=100)
    quiet_start: time | None = None
    quiet_end: time | None = None


class CampaignIn(Schema):
    name: str = Field(min_length=1, max_length=150)
    message: int
    segment: int
    scheduled_at: datetime


def _consents_out(customer) -> dict:
    states = ConsentState.objects.filter(customer=customer).order_by("purpose", "channel")
    history = (
        ConsentEvent.objects.filter(customer=customer)
        .select_related("wording")
        .order_by("-occurred_at", "-id")[:200]
    )
    return {
        "customer": customer.pk,
        "states": [
            {
                "purpose": s.purpose,
                "channel": s.channel,
                "granted": s.granted,
                "since": s.changed_at,
                "event": s.event_id,
            }
            for s in states
        ],
        "history": [
            {
                "id": e.id,
                "purpose": e.purpose,
                "channel": e.channel,
                "granted": e.granted,
                "occurred_at": e.occurred_at,
                "recorded_at": e.recorded_at,
                "source": e.source,
                "wording_sha256": e.wording.sha256,
                "wording_version": e.wording.version,
                "actor": e.actor_label,
                "ip_address": e.ip_address,
                "user_agent": e.user_agent,
            }
            for e in history
        ],
    }


def _customer(request, customer_id: int):
    # Consents and preferences are personal data: only roles that see personal data.
    require(request, "customers.view_personal_data")
    return customer_get_for(request.user, customer_id)


@router.get("/customers/{customer_id}/consents", summary="Current consents and their ledger")
def consents_get(request, customer_id: int):
    require(request, "membrane.view_consentevent")
    return _consents_out(_customer(request, customer_id))


@router.post(
    "/customers/{customer_id}/consents",
    response={201: dict},
    summary="Record consents given or withdrawn, with their proof",
)
def consents_record(request, customer_id: int, payload: ConsentsIn):
    actor = require(request, "membrane.add_consentevent", write=True)
    customer = _customer(request, customer_id)
    with transaction.atomic():
        wording = services.consent_wording_for(**payload.wording.dict())
        for change in payload.changes:
            services.consent_record(
                actor=actor,
                customer=customer,
                purpose=change.purpose,
                channel=change.channel,
                granted=change.granted,
                occurred_at=change.occurred_at,
                source=payload.source,
                wording=wording,
                user_agent=payload.user_agent,
                note=payload.note,
            )
    return 201, _consents_out(customer)


def _preferences_out(customer) -> dict:
    preference = Preference.objects.filter(customer=customer).first() or Preference(
        customer=customer
    )
    return {
        "customer": customer.pk,
        "language": customer.language,
        "time_zone": customer.time_zone,
        **{name: getattr(preference, name) for name in services.PREFERENCE_FIELDS},
        "updated_at": preference.updated_at,
    }


@router.get("/customers/{customer_id}/preferences", summary="The customer's contact preferences")
def preferences_get(request, customer_id: int):
    require(request, "membrane.view_preference")
    return _preferences_out(_customer(request, customer_id))


@router.put("/customers/{customer_id}/preferences", summary="Replace the contact preferences")
def preferences_put(request, customer_id: int, payload: PreferencesIn):
    actor = require(request, "membrane.change_preference", write=True)
    customer = _customer(request, customer_id)
    data = payload.dict()
    data["purpose_caps"] = {
        purpose: {k: v for k, v in caps.items() if v is not None}
        for purpose, caps in data["purpose_caps"].items()
    }
    if data["marketing_paused_until"] is not None:
        data["marketing_paused_until"] = data["marketing_paused_until"].date()
    services.preferences_save(actor=actor, customer=customer, data=data)
    return _preferences_out(customer)


@router.post(
    "/customers/{customer_id}/do-not-contact",
    response={201: dict},
    summary="Mark a channel do-not-contact",
)
def do_not_contact_set(request, customer_id: int, payload: DoNotContactIn):
    actor = require(request, "membrane.add_donotcontact", write=True)
    customer = _customer(request, customer_id)
    entry = services.do_not_contact_set(actor=actor, customer=customer, **payload.dict())
    return 201, {
        "channel": entry.channel,
        "reason": entry.reason,
        "since": entry.created_at,
    }


def decision_out(decision, recorded: Decision | None = None) -> dict:
    out = {
        "outcome": decision.outcome,
        "channel": decision.channel,
        "language": decision.language,
        "send_at": decision.send_at,
        "reasons": reasons_for_display(services.reasons_json(decision)),
    }
    if recorded is not None:
        out["id"] = recorded.pk
    return out


@router.post("/decisions", summary="Ask the membrane about one message for one customer")
def decisions_make(request, payload: DecisionIn):
    if payload.send:
        actor = require(request, "membrane.add_decision", write=True)
    else:
        actor = require(request, "membrane.view_decision")
    customer = customer_get_for(request.user, payload.customer)
    message = get_object_or_404(Message, pk=payload.message)
    decision, recorded = services.decision_make(
        customer=customer,
        message=message,
        interaction_id=payload.interaction,
        record=payload.send,
    )
    if recorded is not None:
        services.audit_record(
            actor=actor,
            action="message_decided",
            target=f"message:{message.pk}",
            customer_id=customer.pk,
            changes={"outcome": decision.outcome},
        )
    return decision_out(decision, recorded)


def message_out(message: Message) -> dict:
    return {
        "id": message.pk,
        "name": message.name,
        "purpose": message.purpose,
        "topics": message.topics,
        "priority": message.priority,
        "expires_at": message.expires_at,
        "team": message.team_id,
        "variants": [
            {"channel": v.channel, "language": v.language, "subject": v.subject, "body": v.body}
            for v in message.variants.all()
        ],
        "created_at": message.created_at,
    }


@router.get("/messages", summary="Messages")
def messages_list(request):
    require(request, "membrane.view_message")
    return {"items": [message_out(m) for m in queries.messages_list()[:500]]}


@router.post("/messages", response={201: dict}, summary="Write a message")
def messages_create(request, payload: MessageIn):
    actor = require(request, "membrane.add_message", write=True)
    data = payload.dict()
    data["team_id"] = data.pop("team")
    message = services.message_create(actor=actor, **data)
    return 201, message_out(message)


def campaign_out(campaign: Campaign) -> dict:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "message": campaign.message_id,
        "segment": campaign.segment_id,
        "scheduled_at": campaign.scheduled_at,
        "status": campaign.status,
        "dry_run": campaign.dry_run,
        "dry_run_at": campaign.dry_run_at,
        "results": campaign.results,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
    }


@router.get("/campaigns", summary="Campaigns")
def campaigns_list(request):
    require(request, "membrane.view_campaign")
    return {"items": [campaign_out(c) for c in queries.campaigns_list()[:500]]}


@router.post("/campaigns", response={201: dict}, summary="Plan a campaign")
def campaigns_create(request, payload: CampaignIn):
    actor = require(request, "membrane.add_campaign", write=True)
    message = get_object_or_404(Message, pk=payload.message)
    segment = get_object_or_404(Segment, pk=payload.segment)
    campaign = services.campaign_create(
        actor=actor,
        name=payload.name,
        message=message,
        segment=segment,
        scheduled_at=payload.scheduled_at,
    )
    return 201, campaign_out(campaign)


@router.get("/campaigns/{campaign_id}", summary="A campaign and its results")
def campaigns_get(request, campaign_id: int):
    require(request, "membrane.view_campaign")
    return campaign_out(get_object_or_404(Campaign, pk=campaign_id))


@router.post("/campaigns/{campaign_id}/dry-run", summary="Count what the campaign would do")
def campaigns_dry_run(request, campaign_id: int):
    require(request, "membrane.view_campaign")
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    services.campaign_dry_run(campaign=campaign)
    return campaign_out(campaign)


@router.post("/campaigns/{campaign_id}/start", summary="Start the campaign at its date")
def campaigns_start(request, campaign_id: int):
    actor = require(request, "membrane.run_campaign", write=True)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    services.campaign_start(actor=actor, campaign=campaign)
    campaign.refresh_from_db()
    return campaign_out(campaign)


@router.get("/policies", summary="The policies in order, and their parameters per purpose")
def policies_get(request):
    require(request, "membrane.view_policysetting")
    params = queries.policy_params_all()
    return {
        "order": list(queries.policy.POLICY_ORDER),
        "purposes": {
            purpose: {
                name: value.isoformat() if isinstance(value, time) else value
                for name, value in asdict(p).items()
            }
            for purpose, p in params.items()
        },
    }


@router.patch("/policies/{purpose}", summary="Tune the parameters of one purpose (logged)")
def policies_update(request, purpose: PurposeName, payload: PolicyIn):
    actor = require(request, "membrane.change_policysetting", write=True)
    services.policy_update(actor=actor, purpose=purpose, changes=payload.dict(exclude_unset=True))
    return policies_get(request)
