"""Reads of the membrane: customer states loaded in bulk for the engine, and page data."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce

from cxcore.customers.models import ContactKind, Customer, DeclaredAttribute
from cxcore.db import is_postgresql
from cxcore.interactions.queries import bad_experiences
from cxcore.membrane import policy
from cxcore.membrane.models import (
    PREFERENCE_FIELDS,
    Campaign,
    ConsentEvent,
    ConsentState,
    Decision,
    Delivery,
    DoNotContact,
    Message,
    PolicySetting,
    Preference,
)
from cxcore.membrane.policy import history_matters

CHANNEL_BITS = {channel: 1 << i for i, channel in enumerate(policy.CHANNELS)}
# A phone number reaches the customer by SMS and by call; an external id lets another system
# (the webhook) address them; a postal address takes letters.
ADDRESS_BITS = {
    ContactKind.EMAIL: CHANNEL_BITS["email"],
    ContactKind.PHONE: CHANNEL_BITS["sms"] | CHANNEL_BITS["phone"],
    ContactKind.POSTAL: CHANNEL_BITS["postal"],
    ContactKind.EXTERNAL_ID: CHANNEL_BITS["webhook"],
}
# Declared attributes whose values name topics of interest ("interests": "delivery, price").
INTEREST_KEYS = ("interest", "interests", "topics")
COUNTED = (Delivery.Status.SENDING, Delivery.Status.SENT)
EPOCH_START = datetime(1970, 1, 1, tzinfo=UTC)


def policy_params(purpose: str) -> policy.Params:
    """The company's parameters for a purpose: defaults overlaid with what admins changed."""
    return policy_params_all()[purpose]


def policy_params_all() -> dict[str, policy.Params]:
    from cxcore.membrane.services import params_from_json

    stored = dict(PolicySetting.objects.values_list("purpose", "params"))
    return {
        purpose: params_from_json(stored.get(purpose, {}), base=policy.DEFAULT_PARAMS[purpose])
        for purpose in policy.PURPOSES
    }


def message_spec(message: Message, *, interaction_id: int | None = None) -> policy.MessageSpec:
    return policy.MessageSpec(
        id=message.pk,
        purpose=message.purpose,
        topics=frozenset(message.topics or ()),
        priority=message.priority,
        expires_at=message.expires_at,
        variants=frozenset(message.variants.values_list("channel", "language")),
        interaction_id=interaction_id,
    )


def _bits_to_set(purpose: str):
    cache = {}

    def convert(bits: int) -> frozenset:
        found = cache.get(bits)
        if found is None:
            found = cache[bits] = frozenset(
                (purpose, channel) for channel, bit in CHANNEL_BITS.items() if bits & bit
            )
        return found

    return convert


def _channel_set(bits: int, _cache={}) -> frozenset[str]:  # noqa: B006 - a deliberate memo
    found = _cache.get(bits)
    if found is None:
        found = _cache[bits] = frozenset(c for c, bit in CHANNEL_BITS.items() if bits & bit)
    return found


PREFERENCE_JSON_COLUMNS = ("channels", "topics", "purpose_caps", "quiet_days", "accessibility")


def preferences_from_row(pref: Preference) -> policy.Preferences:
    return preferences_from_values({name: getattr(pref, name) for name in PREFERENCE_FIELDS})


def preferences_from_values(values: dict) -> policy.Preferences:
    caps = tuple(
        sorted(
            (purpose, limits.get("week"), limits.get("month"))
            for purpose, limits in (values["purpose_caps"] or {}).items()
        )
    )
    return policy.Preferences(
        channels=tuple(values["channels"] or ()),
        topics=frozenset(values["topics"] or ()),
        max_per_week=values["max_per_week"],
        max_per_month=values["max_per_month"],
        purpose_caps=caps,
        quiet_start=values["quiet_start"],
        quiet_end=values["quiet_end"],
        quiet_days=frozenset(values["quiet_days"] or ()),
        no_digital="no_digital" in (values["accessibility"] or ()),
        marketing_paused_until=values["marketing_paused_until"],
    )


def _ids_sql(customer_ids) -> tuple[str, list]:
    """SQL and params for a set of customer ids: a list, or a QuerySet of customers."""
    if isinstance(customer_ids, QuerySet):
        sql, params = customer_ids.order_by().values("id").query.sql_with_params()
        return sql, list(params)
    ids = list(customer_ids)
    if not ids:
        return "SELECT NULL WHERE 1 = 0", []
    marks = ", ".join(["%s"] * len(ids))
    return f"SELECT id FROM customers_customer WHERE id IN ({marks})", ids  # noqa: S608 - placeholders only


def customer_states(
    customer_ids,
    message: policy.MessageSpec,
    params: policy.Params,
    *,
    now: datetime,
    at_send_time: bool = False,
) -> Iterator[tuple[int, policy.CustomerState]]:
    """(customer id, state) for every customer in `customer_ids`, loaded set-wise.

    One wide query gives each customer's consents, addresses and do-not-contact as bit sets;
    the sparse parts (preferences, recent deliveries, interests, bad experiences, surveys)
    come in one query each. No query per customer.
    """
    with _audience(customer_ids) as (ids_sql, ids_params, id_filter):
        yield from _customer_states(
            ids_sql, ids_params, id_filter, message, params, now=now, at_send_time=at_send_time
        )


@contextmanager
def _audience(customer_ids):
    """The audience as SQL for the wide query and as a filter for the ORM's sparse queries.

    A segment's rules are evaluated once into a temporary table (analysed on PostgreSQL) that
    every query then joins, instead of re-running the segment in each of them; a short list of
    ids (one customer, a sending batch) goes inline.
    """
    if not isinstance(customer_ids, QuerySet):
        ids = list(customer_ids)
        sql, params = _ids_sql(ids)
        yield sql, params, ids
        return
    table = f"cx_audience_{uuid.uuid4().hex[:12]}"
    sql, params = _ids_sql(customer_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {table} AS {sql}", params)
        if is_postgresql():
            cursor.execute(f"ANALYZE {table}")
    try:
        # The table name is ours (a random hex suffix); nothing here comes from a user.
        select = f"SELECT id FROM {table}"  # noqa: S608
        yield select, [], RawSQL(select, [])  # noqa: S611
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _customer_states(ids_sql, ids_params, id_filter, message, params, *, now, at_send_time):
    purpose = message.purpose
    channel_case = (
        "CASE channel "
        + " ".join(f"WHEN '{c}' THEN {bit}" for c, bit in CHANNEL_BITS.items())
        + " ELSE 0 END"
    )
    address_sum = " + ".join(
        f"MAX(CASE WHEN kind = '{kind}' THEN {bit} ELSE 0 END)"
        for kind, bit in ADDRESS_BITS.items()
    )
    kinds = ", ".join(f"'{kind}'" for kind in ADDRESS_BITS)
    # Every name and constant in this SQL is ours; the purpose and ids go as parameters.
    sql = f"""
        SELECT c.id, c.language, c.time_zone,
               COALESCE(cs.granted, 0), COALESCE(cs.withdrawn, 0),
               COALESCE(cp.addresses, 0), COALESCE(dn.blocked, 0)
        FROM customers_customer c
        LEFT JOIN (
            SELECT customer_id,
                   SUM(CASE WHEN granted THEN {channel_case} ELSE 0 END) AS granted,
                   SUM(CASE WHEN granted THEN 0 ELSE {channel_case} END) AS withdrawn
            FROM membrane_consentstate
            WHERE purpose = %s AND customer_id IN ({ids_sql})
            GROUP BY customer_id
        ) cs ON cs.customer_id = c.id
        LEFT JOIN (
            SELECT customer_id, {address_sum} AS addresses
            FROM customers_contactpoint
            WHERE kind IN ({kinds}) AND customer_id IN ({ids_sql})
            GROUP BY customer_id
        ) cp ON cp.customer_id = c.id
        LEFT JOIN (
            SELECT customer_id, SUM({channel_case}) AS blocked
            FROM membrane_donotcontact
            WHERE lifted_at IS NULL AND customer_id IN ({ids_sql})
            GROUP BY customer_id
        ) dn ON dn.customer_id = c.id
        WHERE c.id IN ({ids_sql})
    """  # noqa: S608
    sql_params = [purpose, *ids_params, *ids_params, *ids_params, *ids_params]

    sparse = _sparse_state(id_filter, message, params, now=now, at_send_time=at_send_time)
    prefs, interests, recent, pending, bad, complaints, surveys, surveyed = sparse
    empty = frozenset()
    asked_about = frozenset([message.interaction_id]) if surveyed else empty
    # Everything sparse about a customer in one tuple, shared between customers alike; a
    # customer with nothing sparse (most of them) gets NOTHING.
    nothing = (policy.NO_PREFERENCES, empty, (), empty, None, False, None, empty)
    shared: dict[tuple, tuple] = {nothing: nothing}
    extras: dict[int, tuple] = {}
    for cid in set().union(prefs, interests, recent, pending, bad, complaints, surveys, surveyed):
        preferences = prefs.get(cid, policy.NO_PREFERENCES)
        history = recent.get(cid, ())
        # A history that cannot change this decision is dropped, so customers alike stay alike;
        # but not when sending, where each delivery claimed is added to the history of the
        # next one for the same customer (services._recheck) and the whole count matters.
        if (
            history
            and not at_send_time
            and not history_matters(history, preferences, message, params, now)
        ):
            history = ()
        extra = (
            preferences,
            interests.get(cid, empty),
            history,
            pending.get(cid, empty),
            bad.get(cid),
            cid in complaints,
            surveys.get(cid),
            asked_about if cid in surveyed else empty,
        )
        extras[cid] = shared.setdefault(extra, extra)
    to_consents = _bits_to_set(purpose)
    state_cls = policy.CustomerState
    # Customers alike get the very same state object: built once, and recognised by identity
    # (policy.decide_many). The shared extras live as long as this loop, so their identity
    # can stand for their content in the key.
    interned: dict[tuple, policy.CustomerState] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, sql_params)
        while rows := cursor.fetchmany(20_000):
            for cid, language, zone, granted, withdrawn, addresses, blocked in rows:
                extra = extras.get(cid, nothing)
                key = (language, zone, granted, withdrawn, blocked, addresses, id(extra))
                state = interned.get(key)
                if state is None:
                    state = interned[key] = state_cls(
                        language,
                        zone,
                        to_consents(granted),
                        to_consents(withdrawn),
                        _channel_set(blocked),
                        _channel_set(addresses),
                        *extra,
                    )
                yield cid, state


def _histories(deliveries) -> tuple[dict[int, tuple], set[int]]:
    """(delivered at, purpose, message id) per customer, oldest first; and the customers
    among whose deliveries one is still pending (the caller filters which pending ones)."""
    recent_lists: dict[int, list] = defaultdict(list)
    waiting: set[int] = set()
    deliveries = deliveries.order_by("claimed_at")
    if is_postgresql():
        # Times come as exact epoch seconds (numeric): parsing many timestamps from text costs
        # seconds, building a datetime from a number does not.
        rows = deliveries.annotate(
            epoch=RawSQL("EXTRACT(EPOCH FROM membrane_delivery.claimed_at)", [])
        ).values_list("customer_id", "epoch", "purpose", "message_id", "status")
        for cid, epoch, purpose, mid, status in rows:
            if status == Delivery.Status.PENDING:
                waiting.add(cid)
                continue
            whole = int(epoch)  # a Decimal: exact to the microsecond, unlike a float
            at = EPOCH_START + timedelta(
                seconds=whole, microseconds=int((epoch - whole) * 1_000_000)
            )
            recent_lists[cid].append((at, purpose, mid))
    else:
        for cid, at, purpose, mid, status in deliveries.values_list(
            "customer_id", "claimed_at", "purpose", "message_id", "status"
        ):
            if status == Delivery.Status.PENDING:
                waiting.add(cid)
            else:
                recent_lists[cid].append((at, purpose, mid))
    return {cid: tuple(items) for cid, items in recent_lists.items()}, waiting


def _histories_that_matter(id_filter, went_out, waiting, message, params, prefs, *, now):
    """A campaign's audience: histories only of the customers for whom they can change the
    decision, and who has this message already waiting to go (a duplicate).

    Deliveries are counted per customer and window in SQL; whole histories are read only where
    this message is among them or a cap is already full (policy.history_matters says why the
    others cannot change the decision). A million customers' histories would otherwise come
    into Python one timestamp at a time.
    """
    purpose = message.purpose
    own = Q(purpose=purpose)
    week, month = Q(claimed_at__gt=now - policy.WEEK), Q(claimed_at__gt=now - policy.MONTH)
    counted = (
        Delivery.objects.filter(went_out | waiting, customer_id__in=id_filter)
        .values("customer_id")
        .annotate(
            week_all=Count("id", filter=went_out & week),
            month_all=Count("id", filter=went_out & month),
            week_own=Count("id", filter=went_out & week & own),
            month_own=Count("id", filter=went_out & month & own),
            this_message=Count("id", filter=went_out & Q(message_id=message.id)),
            waiting_now=Count("id", filter=waiting),
        )
        .values_list(
            "customer_id",
            "week_all",
            "month_all",
            "week_own",
            "month_own",
            "this_message",
            "waiting_now",
        )
    )
    this_message = frozenset([message.id])
    pending, matter = {}, []
    for cid, week_all, month_all, week_own, month_own, sent_before, waiting_now in counted:
        if waiting_now:
            pending[cid] = this_message
        counts = {
            (policy.WEEK, False): week_all,
            (policy.MONTH, False): month_all,
            (policy.WEEK, True): week_own,
            (policy.MONTH, True): month_own,
        }
        preferences = prefs.get(cid, policy.NO_PREFERENCES)
        if sent_before or policy.a_cap_is_full(preferences, purpose, params, counts):
            matter.append(cid)
    recent = {}
    for start in range(0, len(matter), 10_000):
        part = Delivery.objects.filter(went_out, customer_id__in=matter[start : start + 10_000])
        recent.update(_histories(part)[0])
    return recent, pending


def _sparse_state(
    id_filter, message: policy.MessageSpec, params: policy.Params, *, now, at_send_time
):
    # Plain tuples, not model instances: a campaign reads hundreds of thousands, and most
    # customers who set preferences set the same few; each distinct row is built once.
    built: dict[tuple, policy.Preferences] = {}
    prefs = {}
    # JSON columns come as their text, decoded only for the rows not seen before.
    as_text = {name: Cast(name, TextField()) for name in PREFERENCE_JSON_COLUMNS}
    for cid, *fields in (
        Preference.objects.filter(customer_id__in=id_filter)
        .annotate(**{f"{name}_text": expr for name, expr in as_text.items()})
        .values_list(
            "customer_id",
            *(f"{n}_text" if n in as_text else n for n in PREFERENCE_FIELDS),
        )
    ):
        key = tuple(fields)
        found = built.get(key)
        if found is None:
            values = dict(zip(PREFERENCE_FIELDS, fields, strict=True))
            for name in PREFERENCE_JSON_COLUMNS:
                values[name] = json.loads(values[name]) if values[name] else None
            found = built[key] = preferences_from_values(values)
        prefs[cid] = found
    interests: dict[int, frozenset] = {}
    for cid, value in DeclaredAttribute.objects.filter(
        customer_id__in=id_filter, key__in=INTEREST_KEYS
    ).values_list("customer_id", "value"):
        words = {w.strip().lower() for w in value.replace(";", ",").split(",") if w.strip()}
        interests[cid] = interests.get(cid, frozenset()) | frozenset(words)

    horizon = now - timedelta(days=max(31, params.duplicate_days))
    went_out = Q(status__in=COUNTED, claimed_at__gte=horizon)
    waiting = Q(status=Delivery.Status.PENDING, message_id=message.id)
    if isinstance(id_filter, list) or at_send_time:
        # A few customers (one decision, a sending batch): read their histories whole, in one
        # query with this message still waiting to go, which counts as a duplicate when
        # deciding ahead; when sending, only what went out counts.
        deliveries = Delivery.objects.filter(
            went_out if at_send_time else went_out | waiting, customer_id__in=id_filter
        )
        recent, waiting_ids = _histories(deliveries)
        pending = dict.fromkeys(waiting_ids, frozenset([message.id]))
    else:
        recent, pending = _histories_that_matter(
            id_filter, went_out, waiting, message, params, prefs, now=now
        )

    bad, complaints = {}, set()
    if params.bad_experience_days:
        bad, complaints = bad_experiences(
            id_filter, since=now - timedelta(days=params.bad_experience_days)
        )

    surveys = {}
    surveyed = frozenset()  # customers already asked about the message's interaction
    if params.survey_recontact_days and message.purpose in ("feedback", "research"):
        since = now - timedelta(days=params.survey_recontact_days)
        for cid, at in (
            Delivery.objects.filter(
                customer_id__in=id_filter,
                purpose__in=["feedback", "research"],
                status__in=COUNTED if at_send_time else [*COUNTED, Delivery.Status.PENDING],
                due_at__gte=since,
            )
            .values("customer_id")
            # When it went out; a survey still waiting counts from when it is due.
            .annotate(last=Max(Coalesce("claimed_at", "due_at")))
            .values_list("customer_id", "last")
        ):
            surveys[cid] = at
        if message.interaction_id is not None:
            # An invitation that was finally not sent did not ask anything.
            asked = (
                Decision.objects.filter(
                    interaction_id=message.interaction_id,
                    outcome__in=[policy.DELIVER, policy.DEFER],
                )
                .exclude(delivery__status__in=[Delivery.Status.CANCELLED, Delivery.Status.FAILED])
                .values_list("customer_id", flat=True)
            )
            surveyed = frozenset(asked)
    return prefs, interests, recent, pending, bad, complaints, surveys, surveyed


# --- pages ---------------------------------------------------------------------------------


def customer_membrane(customer: Customer) -> dict:
    """Consents (with history and proof), preferences, do-not-contact and the message log."""
    states = {
        (s.purpose, s.channel): s
        for s in ConsentState.objects.filter(customer=customer).select_related("event")
    }
    history = (
        ConsentEvent.objects.filter(customer=customer)
        .select_related("wording")
        .order_by("-occurred_at", "-id")[:200]
    )
    decisions = (
        Decision.objects.filter(customer=customer)
        .select_related("message", "delivery", "reason_set")
        .order_by("-decided_at", "-id")[:100]
    )
    return {
        "consent_states": states,
        "consent_history": history,
        "preference": Preference.objects.filter(customer=customer).first(),
        "do_not_contact": DoNotContact.objects.filter(customer=customer, lifted_at__isnull=True),
        "decisions": decisions,
    }


def decisions_not_sent(customer_id: int, *, since: datetime) -> QuerySet[Decision]:
    """What the company chose not to send this customer, newest first (the portal shows it)."""
    return (
        Decision.objects.filter(customer_id=customer_id, decided_at__gte=since)
        .filter(Q(outcome=policy.BLOCK) | Q(delivery__status=Delivery.Status.CANCELLED))
        .select_related("message", "delivery")
        .order_by("-decided_at", "-id")
    )


def campaign_breakdown(campaign: Campaign) -> dict:
    """Recorded decisions of a campaign by outcome, channel and first holding reason."""
    outcomes = dict(
        Decision.objects.filter(campaign=campaign)
        .values("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    deliveries = dict(
        Delivery.objects.filter(decision__campaign=campaign)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {"outcomes": outcomes, "deliveries": deliveries}


def messages_list() -> QuerySet[Message]:
    return Message.objects.select_related("team").prefetch_related("variants")


def campaigns_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("message", "segment")


def messages_for_purpose(purpose: str) -> QuerySet[Message]:
    """The messages of one purpose, e.g. those that can invite customers to a survey."""
    return Message.objects.filter(purpose=purpose).order_by("name", "id")
