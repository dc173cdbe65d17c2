"""Every write of the membrane: consents, preferences, policies, messages, campaigns, deliveries."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
from collections import Counter
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import default_task_backend

from cxcore.customers.models import Customer, Segment
from cxcore.customers.queries import segment_members
from cxcore.customers.services import audit_record
from cxcore.db import insert_rows, is_postgresql
from cxcore.lib.actor import SYSTEM, Actor
from cxcore.membrane import policy, queries
from cxcore.membrane.models import (
    PREFERENCE_FIELDS,
    Accessibility,
    Campaign,
    ConsentEvent,
    ConsentSource,
    ConsentState,
    ConsentWording,
    Decision,
    Delivery,
    DoNotContact,
    DoNotContactReason,
    Message,
    MessageChannel,
    MessageVariant,
    PolicySetting,
    Preference,
    Purpose,
    ReasonSet,
)

log = logging.getLogger("cxcore.membrane")

# Decisions and deliveries are written this many customers per transaction, so a killed
# campaign keeps whole chunks and its re-run decides only the customers still missing.
CAMPAIGN_CHUNK = 50_000
CAMPAIGN_LOCK_SPACE = 4711  # first key of the advisory locks taken by campaign runs
TOPIC_MAX = 30


def _json_safe(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def reasons_json(decision: policy.Decision) -> list[dict]:
    return [
        {"code": r.code, "effect": r.effect, "params": {k: _json_safe(v) for k, v in r.params}}
        for r in decision.reasons
    ]


def reason_set_for(decision: policy.Decision) -> int:
    """The id of the stored reason list equal to this decision's, created when new."""
    return reason_sets_for([decision.reasons])[decision.reasons]


def reason_sets_for(reason_lists) -> dict[tuple, int]:
    """Ids of the stored reason lists equal to these (tuples of policy.Reason), in two queries.

    A million decisions share a few thousand distinct lists: each is hashed and stored once.
    """
    wanted: dict[str, tuple] = {}
    encoded: dict[str, list] = {}
    for reasons in set(reason_lists):
        as_json = [
            {"code": r.code, "effect": r.effect, "params": {k: _json_safe(v) for k, v in r.params}}
            for r in reasons
        ]
        text = json.dumps(as_json, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        wanted[digest], encoded[digest] = reasons, as_json
    found = dict(ReasonSet.objects.filter(sha256__in=list(wanted)).values_list("sha256", "id"))
    missing = [digest for digest in wanted if digest not in found]
    if missing:
        # Another worker may store the same list at the same moment: the unique hash settles it.
        ReasonSet.objects.bulk_create(
            [ReasonSet(sha256=d, reasons=encoded[d]) for d in missing], ignore_conflicts=True
        )
        found.update(ReasonSet.objects.filter(sha256__in=missing).values_list("sha256", "id"))
    return {reasons: found[digest] for digest, reasons in wanted.items()}


# --- consent ledger ----------------------------------------------------------------------------


def consent_wording_for(*, text: str, language: str, version: str = "") -> ConsentWording:
    """The stored wording with this exact text, created the first time it is shown."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"wording": _("Say which wording the customer was shown.")})
    digest = hashlib.sha256(text.encode()).hexdigest()
    wording = ConsentWording.objects.filter(sha256=digest).first()
    if wording is None:
        with transaction.atomic():
            wording, _created = ConsentWording.objects.get_or_create(
                sha256=digest, defaults={"text": text, "language": language, "version": version}
            )
    return wording


@transaction.atomic
def consent_record(
    *,
    actor: Actor,
    customer: Customer,
    purpose: str,
    channel: str,
    granted: bool,
    source: str,
    wording: ConsentWording | None,
    occurred_at: datetime | None = None,
    user_agent: str = "",
    note: str = "",
) -> ConsentEvent:
    """Append a consent given or withdrawn to the ledger and move the current state."""
    problems = {}
    if purpose not in Purpose.values:
        problems["purpose"] = _("Use one of: %s.") % ", ".join(Purpose.values)
    if channel not in MessageChannel.values:
        problems["channel"] = _("Use one of: %s.") % ", ".join(MessageChannel.values)
    if not source:
        problems["source"] = _("Say where this consent comes from.")
    elif source not in ConsentSource.values:
        problems["source"] = _("Use one of: %s.") % ", ".join(ConsentSource.values)
    if wording is None:
        problems["wording"] = _("Say which wording the customer was shown.")
    now = timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        problems["occurred_at"] = _("Give a time zone with the date.")
    elif occurred_at > now + timedelta(minutes=5):
        problems["occurred_at"] = _("This date is in the future.")
    if customer.merged_into_id:
        problems["customer"] = _("This customer was merged; record consent on the survivor.")
    if problems:
        raise ValidationError(problems)
    # Two first consents for the same customer at once would both find no state row to lock.
    _lock_customers([customer.pk])
    event = ConsentEvent.objects.create(
        customer=customer,
        purpose=purpose,
        channel=channel,
        granted=granted,
        occurred_at=occurred_at,
        source=source,
        wording=wording,
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.label,
        ip_address=actor.ip,
        user_agent=(user_agent or "")[:300],
        note=(note or "")[:300],
    )
    state = (
        ConsentState.objects.select_for_update()
        .filter(customer=customer, purpose=purpose, channel=channel)
        .first()
    )
    # Events can arrive late (a paper form keyed in a week after): the newest one wins.
    if state is None:
        ConsentState.objects.create(
            customer=customer,
            purpose=purpose,
            channel=channel,
            granted=granted,
            event=event,
            changed_at=occurred_at,
        )
    elif occurred_at >= state.changed_at:
        state.granted, state.event, state.changed_at = granted, event, occurred_at
        state.save(update_fields=["granted", "event", "changed_at"])
    audit_record(
        actor=actor,
        action="consent_granted" if granted else "consent_withdrawn",
        target=f"consent:{purpose}/{channel}",
        customer_id=customer.pk,
        changes={"source": source, "wording": wording.sha256[:12]},
    )
    return event


def consent_withdraw(*, actor: Actor, customer: Customer, purpose: str, channel: str, **proof):
    return consent_record(
        actor=actor, customer=customer, purpose=purpose, channel=channel, granted=False, **proof
    )


@transaction.atomic
def consent_states_rebuild() -> int:
    """Derive every current consent again from the ledger (the newest event wins)."""
    ConsentState.objects.all().delete()
    latest: dict[tuple, ConsentEvent] = {}
    for event in ConsentEvent.objects.order_by("occurred_at", "id").iterator(chunk_size=5000):
        latest[(event.customer_id, event.purpose, event.channel)] = event
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                customer_id=key[0],
                purpose=key[1],
                channel=key[2],
                granted=event.granted,
                event=event,
                changed_at=event.occurred_at,
            )
            for key, event in latest.items()
        ],
        batch_size=2000,
    )
    return len(latest)


def consents_follow_merge(*, survivor: Customer, merged: Customer, actor: Actor, **_signal):
    """Carry the merged customer's consents, do-not-contact and preferences to the survivor.

    The ledger is never rewritten: each consent of the merged record that is newer than the
    survivor's (or that the survivor lacks) is appended to the survivor's ledger with its
    original date, source and wording, so a withdrawal made under either record holds.
    """
    kept = {
        (s.purpose, s.channel): s.changed_at for s in ConsentState.objects.filter(customer=survivor)
    }
    for state in ConsentState.objects.filter(customer=merged).select_related("event"):
        key = (state.purpose, state.channel)
        if key in kept and state.changed_at <= kept[key]:
            continue  # the survivor's own choice is newer
        event = state.event
        consent_record(
            actor=actor,
            customer=survivor,
            purpose=state.purpose,
            channel=state.channel,
            granted=state.granted,
            source=event.source,
            wording=event.wording,
            occurred_at=event.occurred_at,
            user_agent=event.user_agent,
            note=f"merged from {merged.reference}",
        )
    for entry in DoNotContact.objects.filter(customer=merged, lifted_at__isnull=True):
        do_not_contact_set(
            actor=actor,
            customer=survivor,
            channel=entry.channel,
            reason=entry.reason,
            note=f"merged from {merged.reference}",
        )
    theirs = Preference.objects.filter(customer=merged).first()
    if theirs is not None and not Preference.objects.filter(customer=survivor).exists():
        preferences_save(
            actor=actor,
            customer=survivor,
            data={name: getattr(theirs, name) for name in PREFERENCE_FIELDS},
        )


@transaction.atomic
def do_not_contact_set(
    *, actor: Actor, customer: Customer, channel: str, reason: str, note: str = ""
) -> DoNotContact:
    if channel not in MessageChannel.values:
        raise ValidationError({"channel": _("Use one of: %s.") % ", ".join(MessageChannel.values)})
    if reason not in DoNotContactReason.values:
        raise ValidationError(
            {"reason": _("Use one of: %s.") % ", ".join(DoNotContactReason.values)}
        )
    entry = DoNotContact.objects.filter(
        customer=customer, channel=channel, lifted_at__isnull=True
    ).first()
    if entry is None:
        entry = DoNotContact.objects.create(
            customer=customer,
            channel=channel,
            reason=reason,
            note=note[:300],
            created_by=actor.label,
        )
        audit_record(
            actor=actor,
            action="do_not_contact",
            target=f"channel:{channel}",
            customer_id=customer.pk,
            changes={"reason": reason},
        )
    return entry


@transaction.atomic
def do_not_contact_lift(*, actor: Actor, entry: DoNotContact) -> None:
    if entry.lifted_at is None:
        entry.lifted_at, entry.lifted_by = timezone.now(), actor.label
        entry.save(update_fields=["lifted_at", "lifted_by"])
        audit_record(
            actor=actor,
            action="do_not_contact_lifted",
            target=f"channel:{entry.channel}",
            customer_id=entry.customer_id,
        )


# --- preferences -------------------------------------------------------------------------------


def _preference_problems(data: dict) -> dict:
    problems = {}
    channels = data.get("channels", [])
    if not isinstance(channels, list) or any(c not in MessageChannel.values for c in channels):
        problems["channels"] = _("Use channels among: %s.") % ", ".join(MessageChannel.values)
    elif len(set(channels)) != len(channels):
        problems["channels"] = _("Each channel may appear once.")
    topics = data.get("topics", [])
    if not isinstance(topics, list) or any(
        not isinstance(t, str) or not t.strip() or len(t) > 50 for t in topics
    ):
        problems["topics"] = _("Topics are short words of at most 50 characters.")
    elif len(topics) > TOPIC_MAX:
        problems["topics"] = _("At most %d topics.") % TOPIC_MAX
    for name in ("max_per_week", "max_per_month"):
        value = data.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100
        ):
            problems[name] = _("Give a number from 0 to 100, or nothing for no limit.")
    caps = data.get("purpose_caps", {})
    if not isinstance(caps, dict):
        problems["purpose_caps"] = _("Give limits per purpose.")
    else:
        for purpose, limits in caps.items():
            if purpose not in Purpose.values or not isinstance(limits, dict):
                problems["purpose_caps"] = _("Unknown purpose %s.") % purpose
                break
            for length, value in limits.items():
                if length not in ("week", "month") or (
                    value is not None
                    and (
                        not isinstance(value, int)
                        or isinstance(value, bool)
                        or not 0 <= value <= 100
                    )
                ):
                    problems["purpose_caps"] = _(
                        "Limits per purpose are a number from 0 to 100 per week or per month."
                    )
    if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
        problems["quiet_end"] = _("Give both the start and the end of your quiet hours.")
    # Forms and schemas parse these; a caller passing text would otherwise fail on save.
    for name in ("quiet_start", "quiet_end"):
        if data.get(name) is not None and not isinstance(data[name], time):
            problems[name] = _("Give a time as HH:MM.")
    paused = data.get("marketing_paused_until")
    if paused is not None and (not isinstance(paused, date) or isinstance(paused, datetime)):
        problems["marketing_paused_until"] = _("Give a date as YYYY-MM-DD.")
    days = data.get("quiet_days", [])
    if not isinstance(days, list) or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        problems["quiet_days"] = _("Quiet days are numbers from 0 (Monday) to 6 (Sunday).")
    elif len(set(days)) == 7:
        problems["quiet_days"] = _(
            "Every day cannot be quiet; to hear nothing, withdraw your consents instead."
        )
    needs = data.get("accessibility", [])
    if not isinstance(needs, list) or any(n not in Accessibility.values for n in needs):
        problems["accessibility"] = _("Use needs among: %s.") % ", ".join(Accessibility.values)
    if "no_digital" in (needs or []) and any(
        c in ("email", "sms", "webhook") for c in channels or []
    ):
        problems["channels"] = _("You asked for no digital channel: choose post or phone only.")
    return problems


@transaction.atomic
def preferences_save(*, actor: Actor, customer: Customer, data: dict) -> Preference:
    """Replace the customer's contact preferences with `data` (fields of PREFERENCE_FIELDS)."""
    unknown = set(data) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("Unknown preference.")})
    problems = _preference_problems(data)
    if problems:
        raise ValidationError(problems)
    preference, _created = Preference.objects.select_for_update().get_or_create(customer=customer)
    before = {name: _json_safe(getattr(preference, name)) for name in PREFERENCE_FIELDS}
    for name in PREFERENCE_FIELDS:
        default = Preference._meta.get_field(name).get_default()
        value = data.get(name, default)
        if name == "topics":
            value = sorted({t.strip().lower() for t in value})
        setattr(preference, name, value)
    preference.save()
    after = {name: _json_safe(getattr(preference, name)) for name in PREFERENCE_FIELDS}
    changed = {name: after[name] for name in PREFERENCE_FIELDS if before[name] != after[name]}
    if changed:
        audit_record(
            actor=actor,
            action="preferences",
            target="preferences",
            customer_id=customer.pk,
            changes=changed,
        )
    return preference


# --- policies ----------------------------------------------------------------------------------

_PARAM_TYPES = {f.name: f.type for f in fields(policy.Params)}


def params_from_json(data: dict, *, base: policy.Params) -> policy.Params:
    values = {}
    for name, value in data.items():
        if name not in _PARAM_TYPES:
            continue
        if name in ("quiet_start", "quiet_end") and isinstance(value, str):
            value = time.fromisoformat(value)
        values[name] = value
    return replace(base, **values)


def _params_problems(changes: dict) -> dict:
    problems = {}
    for name, value in changes.items():
        if name not in _PARAM_TYPES:
            problems[name] = _("Unknown parameter.")
        elif name == "consent_required":
            if not isinstance(value, bool):
                problems[name] = _("Give true or false.")
        elif name == "relevance_minimum":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                problems[name] = _("Give a share from 0 to 1.")
        elif name in ("quiet_start", "quiet_end"):
            if value is not None:
                try:
                    time.fromisoformat(str(value))
                except ValueError:
                    problems[name] = _("Give a time as HH:MM.")
        elif name in ("week_cap", "month_cap"):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100
            ):
                problems[name] = _("Give a number from 0 to 100, or nothing for no limit.")
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 3650:
            problems[name] = _("Give a number of days from 0 to 3650.")
    return problems


@transaction.atomic
def policy_update(*, actor: Actor, purpose: str, changes: dict) -> PolicySetting:
    """Change the company's parameters for one purpose; the change is logged."""
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": _("Use one of: %s.") % ", ".join(Purpose.values)})
    problems = _params_problems(changes)
    if problems:
        raise ValidationError(problems)
    setting, _created = PolicySetting.objects.select_for_update().get_or_create(purpose=purpose)
    before = dict(setting.params)
    setting.params = {**before, **{k: _json_safe(v) for k, v in changes.items()}}
    setting.updated_by = actor.label
    setting.save()
    audit_record(
        actor=actor,
        action="policy_changed",
        target=f"policy:{purpose}",
        changes={"before": before, "after": setting.params},
    )
    return setting


# --- messages and campaigns --------------------------------------------------------------------


@transaction.atomic
def message_create(
    *,
    actor: Actor,
    name: str,
    purpose: str,
    variants: list[dict],
    topics: list[str] = (),
    priority: int = 3,
    expires_at: datetime | None = None,
    team_id: int | None = None,
) -> Message:
    problems = {}
    if not name.strip():
        problems["name"] = _("Give the message a name.")
    if purpose not in Purpose.values:
        problems["purpose"] = _("Use one of: %s.") % ", ".join(Purpose.values)
    if not 1 <= priority <= 5:
        problems["priority"] = _("Priority goes from 1 (low) to 5 (urgent).")
    if expires_at is not None and expires_at <= timezone.now():
        problems["expires_at"] = _("The expiry date is already past.")
    if not variants:
        problems["variants"] = _("Write the message for at least one channel and language.")
    seen = set()
    for position, variant in enumerate(variants):
        key = (variant.get("channel"), variant.get("language"))
        if key[0] not in MessageChannel.values:
            problems[f"variants.{position}.channel"] = _("Use one of: %s.") % ", ".join(
                MessageChannel.values
            )
        elif key[1] not in ("fr", "en"):
            problems[f"variants.{position}.language"] = _("Use fr or en.")
        elif key in seen:
            problems[f"variants.{position}"] = _("This channel and language appear twice.")
        elif not (variant.get("body") or "").strip():
            problems[f"variants.{position}.body"] = _("Write the text of the message.")
        elif key[0] == "email" and not (variant.get("subject") or "").strip():
            problems[f"variants.{position}.subject"] = _("An email needs a subject.")
        elif key[0] == "sms" and len(variant["body"]) > 640:
            problems[f"variants.{position}.body"] = _("An SMS is at most 640 characters.")
        seen.add(key)
    if problems:
        raise ValidationError(problems)
    message = Message.objects.create(
        name=name.strip(),
        purpose=purpose,
        topics=sorted({t.strip().lower() for t in topics if t.strip()}),
        priority=priority,
        expires_at=expires_at,
        team_id=team_id,
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
    )
    MessageVariant.objects.bulk_create(
        [
            MessageVariant(
                message=message,
                channel=v["channel"],
                language=v["language"],
                subject=(v.get("subject") or "").strip(),
                body=v["body"],
            )
            for v in variants
        ]
    )
    audit_record(actor=actor, action="message_created", target=f"message:{message.pk}")
    return message


@transaction.atomic
def campaign_create(
    *, actor: Actor, name: str, message: Message, segment: Segment, scheduled_at: datetime
) -> Campaign:
    if not name.strip():
        raise ValidationError({"name": _("Give the campaign a name.")})
    if message.expires_at is not None and message.expires_at <= scheduled_at:
        raise ValidationError({"scheduled_at": _("The message expires before this date.")})
    campaign = Campaign.objects.create(
        name=name.strip(),
        message=message,
        segment=segment,
        scheduled_at=scheduled_at,
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
    )
    audit_record(actor=actor, action="campaign_created", target=f"campaign:{campaign.pk}")
    return campaign


def _tally(decisions) -> dict:
    """Counts by outcome, by channel and by the reason that held or stopped each message."""
    # Decisions are shared between customers alike: count them by identity first.
    per_decision: Counter = Counter()
    shared: dict[int, policy.Decision] = {}
    for _cid, decision in decisions:
        per_decision[id(decision)] += 1
        shared[id(decision)] = decision
    outcomes, channels, reasons = Counter(), Counter(), Counter()
    for key, count in per_decision.items():
        decision = shared[key]
        outcomes[decision.outcome] += count
        if decision.channel:
            channels[f"{decision.outcome}:{decision.channel}"] += count
        if decision.outcome != policy.DELIVER:
            reasons[f"{decision.outcome}:{decision.blocking_reason}"] += count
    return {
        "total": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "channels": dict(channels),
        "reasons": dict(reasons.most_common()),
    }


def campaign_decide(campaign: Campaign, *, now: datetime | None = None, customer_ids=None):
    """(customer id, decision) for the campaign's audience, decided set-wise."""
    moment = max(now or timezone.now(), campaign.scheduled_at)
    message = queries.message_spec(campaign.message)
    params = queries.policy_params(message.purpose)
    audience = customer_ids if customer_ids is not None else segment_members(campaign.segment)
    states = queries.customer_states(audience, message, params, now=moment)
    return moment, policy.decide_many(states, message, params, moment)


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while a campaign is decided.

    Deciding keeps hundreds of thousands of small immutable objects alive (one state and one
    decision per distinct customer state); each automatic collection would walk them all, which
    measured as a third of a million-customer dry run. They hold no cycles: reference counting
    frees them when the campaign is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def campaign_dry_run(*, campaign: Campaign, now: datetime | None = None) -> dict:
    """What would happen if the campaign ran now: nothing is recorded but the counts."""
    _moment, decisions = campaign_decide(campaign, now=now)
    with _collector_paused():
        result = _tally(decisions)
    campaign.dry_run, campaign.dry_run_at = result, timezone.now()
    campaign.save(update_fields=["dry_run", "dry_run_at"])
    return result


def campaign_start(*, actor: Actor, campaign: Campaign) -> None:
    """Queue the campaign: decided at its date by a worker, then delivered."""
    from cxcore.membrane.tasks import run_campaign

    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        raise ValidationError({"status": _("This campaign was already started.")})
    campaign.status = Campaign.Status.SCHEDULED
    campaign.save(update_fields=["status"])
    audit_record(actor=actor, action="campaign_started", target=f"campaign:{campaign.pk}")
    deferred = default_task_backend.supports_defer and campaign.scheduled_at > timezone.now()
    queued = run_campaign.using(run_after=campaign.scheduled_at) if deferred else run_campaign
    transaction.on_commit(lambda: queued.enqueue(campaign.pk))


def campaign_run(*, campaign_id: int, now: datetime | None = None) -> dict:
    """Decide the whole audience and record decisions and pending deliveries, chunk by chunk.

    Re-running after a crash decides only the customers without a decision yet: the unique
    (campaign, customer) constraint and the anti-join keep every customer to one decision.
    """
    with _campaign_lock(campaign_id) as acquired:
        if not acquired:  # another worker is deciding this campaign; it will finish the job
            return Campaign.objects.get(pk=campaign_id).results
        return _campaign_run(campaign_id=campaign_id, now=now)


@contextmanager
def _campaign_lock(campaign_id: int):
    """A PostgreSQL advisory lock held while one worker decides the campaign.

    SQLite runs one writer at a time; a second run there meets the unique constraint instead.
    """
    if not is_postgresql():
        yield True
        return
    key = [CAMPAIGN_LOCK_SPACE, campaign_id]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def _campaign_run(*, campaign_id: int, now: datetime | None) -> dict:
    campaign = Campaign.objects.select_related("message", "segment").get(pk=campaign_id)
    if campaign.status in (Campaign.Status.CANCELLED, Campaign.Status.DONE):
        return campaign.results
    if campaign.started_at is None:
        campaign.started_at = timezone.now()
    campaign.status = Campaign.Status.RUNNING
    campaign.save(update_fields=["status", "started_at"])
    audience = segment_members(campaign.segment).exclude(
        pk__in=Decision.objects.filter(campaign=campaign).values("customer_id")
    )
    moment, decisions = campaign_decide(campaign, now=now, customer_ids=audience)
    chunk = []
    with _collector_paused():
        for pair in decisions:
            chunk.append(pair)
            if len(chunk) >= CAMPAIGN_CHUNK:
                _decisions_write(chunk, campaign=campaign, moment=moment)
                chunk = []
        if chunk:
            _decisions_write(chunk, campaign=campaign, moment=moment)
    campaign.results = queries.campaign_breakdown(campaign)
    campaign.status = Campaign.Status.SENDING
    campaign.save(update_fields=["results", "status"])
    _wake_sender()
    return campaign.results


@transaction.atomic
def _decisions_write(pairs, *, campaign: Campaign, moment: datetime) -> list[int]:
    return decisions_write(pairs, message=campaign.message, campaign=campaign, moment=moment)


def decisions_write(
    pairs, *, message: Message, campaign: Campaign | None, moment: datetime, interaction_id=None
) -> list[int]:
    """Record decisions and, for those not blocked, their pending deliveries (set-wise)."""
    pairs = list(pairs)
    reason_sets = reason_sets_for(decision.reasons for _cid, decision in pairs)
    rows = []
    for customer_id, decision in pairs:
        reason_set_id = reason_sets[decision.reasons]
        rows.append(
            (
                customer_id,
                message.pk,
                campaign.pk if campaign else None,
                interaction_id,
                message.purpose,
                decision.outcome,
                decision.channel,
                decision.language,
                decision.send_at,
                reason_set_id,
                moment,
            )
        )
    ids = insert_rows(
        Decision,
        [
            "customer_id",
            "message_id",
            "campaign_id",
            "interaction_id",
            "purpose",
            "outcome",
            "channel",
            "language",
            "send_at",
            "reason_set_id",
            "decided_at",
        ],
        rows,
    )
    deliveries = [
        (
            decision_id,
            customer_id,
            message.pk,
            message.purpose,
            d.channel,
            message.priority,
            d.send_at,
            [],
            Delivery.Status.PENDING,
            0,
            "",
            "",
        )
        for decision_id, (customer_id, d) in zip(ids, pairs, strict=True)
        if d.outcome != policy.BLOCK
    ]
    insert_rows(
        Delivery,
        [
            "decision_id",
            "customer_id",
            "message_id",
            "purpose",
            "channel",
            "priority",
            "due_at",
            "reasons",
            # COPY on PostgreSQL fills no model defaults: every NOT NULL column is given.
            "status",
            "attempts",
            "last_error",
            "provider_ref",
        ],
        deliveries,
    )
    return ids


def decision_make(
    *,
    customer: Customer,
    message: Message,
    interaction_id: int | None = None,
    record: bool = False,
    now: datetime | None = None,
) -> tuple[policy.Decision, Decision | None]:
    """Decide one message for one customer; with `record`, keep the decision and send it."""
    now = now or timezone.now()
    spec = queries.message_spec(message, interaction_id=interaction_id)
    params = queries.policy_params(spec.purpose)
    if not record:  # a question only: no transaction, no lock
        [(_cid, state)] = list(queries.customer_states([customer.pk], spec, params, now=now))
        return policy.decide(state, spec, params, now), None
    with transaction.atomic():
        _lock_customers([customer.pk])
        [(_cid, state)] = list(queries.customer_states([customer.pk], spec, params, now=now))
        decision = policy.decide(state, spec, params, now)
        [decision_id] = decisions_write(
            [(customer.pk, decision)],
            message=message,
            campaign=None,
            moment=now,
            interaction_id=interaction_id,
        )
    if decision.outcome != policy.BLOCK:
        _wake_sender()
    return decision, Decision.objects.get(pk=decision_id)


def _lock_customers(customer_ids: list[int]) -> None:
    """Serialise sends per customer so that concurrent workers cannot both pass a cap.

    PostgreSQL locks the customers' rows (in id order, so two workers never deadlock); SQLite
    writes one transaction at a time (IMMEDIATE), which serialises them already.
    """
    if is_postgresql() and customer_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM customers_customer WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                [sorted(set(customer_ids))],
            )


# --- delivery ----------------------------------------------------------------------------------

SENDING_STALE_AFTER = timedelta(minutes=10)


def _wake_sender() -> None:
    from cxcore.membrane.tasks import send_due_deliveries

    transaction.on_commit(lambda: send_due_deliveries.enqueue())


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** (attempts - 1), 240))


def deliveries_claim(*, now: datetime | None = None, limit: int = 500) -> list[Delivery]:
    """Take due deliveries for sending, re-checking the membrane under a per-customer lock.

    The decision was taken when the campaign ran; at sending time consent may have been
    withdrawn or a cap filled by another message, so each delivery is decided again with the
    customer's row locked. Deliveries still allowed move to "sending" (counted by caps from
    then on); others wait or are cancelled with the reasons.
    """
    now = now or timezone.now()
    # A batch whose deliveries were all held or cancelled claims nothing, yet more may be due
    # after it: take the next batch rather than leave them until some other wake-up.
    while (claimed := _claim_batch(now, limit)) is None:
        pass
    return claimed


def _claim_batch(now: datetime, limit: int) -> list[Delivery] | None:
    """Claimed deliveries of the next due batch; None when it had some but none went through."""
    claimed: list[Delivery] = []
    with transaction.atomic():
        due = Delivery.objects.filter(status=Delivery.Status.PENDING, due_at__lte=now) | (
            Delivery.objects.filter(
                status=Delivery.Status.SENDING, claimed_at__lt=now - SENDING_STALE_AFTER
            )
        )
        due = due.order_by("-priority", "due_at", "id")[:limit]
        if is_postgresql():
            due = due.select_for_update(skip_locked=True, of=("self",))
        batch = list(due.select_related("decision"))
        if not batch:
            return []
        _lock_customers([d.customer_id for d in batch])
        stale = [d for d in batch if d.status == Delivery.Status.SENDING]
        fresh = [d for d in batch if d.status == Delivery.Status.PENDING]
        # A worker died mid-send: retried under the same idempotency key, claimed afresh so that
        # no other worker takes it while this one sends.
        for delivery in stale:
            delivery.claimed_at = now
        Delivery.objects.filter(pk__in=[d.pk for d in stale]).update(claimed_at=now)
        claimed.extend(stale)
        by_message: dict[int, list[Delivery]] = {}
        for delivery in fresh:
            by_message.setdefault(delivery.message_id, []).append(delivery)
        for message_id, group in by_message.items():
            message = Message.objects.get(pk=message_id)
            claimed.extend(_recheck(group, message, now))
    return claimed or None


def _recheck(group: list[Delivery], message: Message, now: datetime) -> list[Delivery]:
    spec = queries.message_spec(message)
    params = queries.policy_params(spec.purpose)
    ids = [d.customer_id for d in group]
    # Pending deliveries (this one among them) are ignored: only what went out counts now.
    states = dict(queries.customer_states(ids, spec, params, now=now, at_send_time=True))
    allowed, held, stopped = [], [], []
    for delivery in group:
        state = states.get(delivery.customer_id)
        if state is None:  # the customer was erased
            delivery.status = Delivery.Status.CANCELLED
            stopped.append(delivery)
            continue
        decision = policy.decide(state, spec, params, now)
        if decision.outcome == policy.DELIVER:
            delivery.status, delivery.claimed_at = Delivery.Status.SENDING, now
            delivery.channel = decision.channel
            # Later deliveries in this batch for the same customer see this one counted.
            states[delivery.customer_id] = replace(
                state, recent=(*state.recent, (now, spec.purpose, spec.id))
            )
            allowed.append(delivery)
        elif decision.outcome == policy.DEFER:
            delivery.due_at = decision.send_at
            delivery.reasons = reasons_json(decision)
            held.append(delivery)
        else:
            delivery.status = Delivery.Status.CANCELLED
            delivery.reasons = reasons_json(decision)
            stopped.append(delivery)
    # One UPDATE per kind of outcome, in the claim's transaction.
    Delivery.objects.bulk_update(allowed, ["status", "claimed_at", "channel"], batch_size=1000)
    Delivery.objects.bulk_update(held, ["due_at", "reasons"], batch_size=1000)
    Delivery.objects.bulk_update(stopped, ["status", "reasons"], batch_size=1000)
    return allowed


def delivery_send(delivery: Delivery, outbound=None) -> None:
    """Hand one claimed delivery to its channel's backend and record what happened.

    `outbound` is the delivery's content when the caller loaded a batch of them at once
    (backends.outbounds_for): an Outbound, or the DeliveryFailed that building it met.
    """
    from cxcore.membrane.backends import DeliveryFailed, backend_for, outbound_for

    try:
        if outbound is None:
            outbound = outbound_for(delivery)
        elif isinstance(outbound, DeliveryFailed):
            raise outbound
        provider_ref = backend_for(delivery.channel).send(outbound)
    except DeliveryFailed as exc:
        _delivery_failed(delivery, str(exc), retry=exc.retry)
        return
    except Exception as exc:  # a backend bug must not lose the message: retry, then give up
        log.exception("delivery %s failed", delivery.pk)
        _delivery_failed(delivery, f"{type(exc).__name__}: {exc}", retry=True)
        return
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        provider_ref=(provider_ref or "")[:200],
        attempts=delivery.attempts + 1,
        last_error="",
    )


def _delivery_failed(delivery: Delivery, error: str, *, retry: bool) -> None:
    attempts = delivery.attempts + 1
    if retry and attempts < settings.DELIVERY_MAX_ATTEMPTS:
        status, due_at = Delivery.Status.PENDING, timezone.now() + _backoff(attempts)
    else:
        status, due_at = Delivery.Status.FAILED, delivery.due_at
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, due_at=due_at, attempts=attempts, last_error=error[:500], claimed_at=None
    )


def deliveries_send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send what is due, batch after batch; returns how many were handed to a backend."""
    sent = 0
    from cxcore.membrane.backends import outbounds_for

    while batch := deliveries_claim(now=now, limit=limit):
        outbounds = outbounds_for(batch)
        for delivery in batch:
            delivery_send(delivery, outbounds[delivery.pk])
        sent += len(batch)
    _campaigns_finish()
    return sent


def _campaigns_finish() -> None:
    for campaign in Campaign.objects.filter(status=Campaign.Status.SENDING):
        waiting = Delivery.objects.filter(
            decision__campaign=campaign,
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        ).exists()
        campaign.results = queries.campaign_breakdown(campaign)
        if not waiting:
            campaign.status, campaign.finished_at = Campaign.Status.DONE, timezone.now()
        campaign.save(update_fields=["results", "status", "finished_at"])


def next_due_at() -> datetime | None:
    return (
        Delivery.objects.filter(status=Delivery.Status.PENDING)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


def system_actor() -> Actor:
    return SYSTEM
