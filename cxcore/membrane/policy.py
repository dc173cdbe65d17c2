"""The membrane's policy engine: plain data in, a decision with its reasons out.

Pure and deterministic: no database, no clock, no translation inside. Callers load the
customer's state in bulk (membrane.queries), pass the time, and render reason codes in the
reader's language (membrane.reasons). The same inputs always give the same decision, which is
what lets a campaign decide a million customers by deciding each distinct state once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

PURPOSES = ("service", "marketing", "feedback", "personalisation", "research")
CHANNELS = ("email", "sms", "postal", "phone", "webhook")
# Channels a customer who asked for "no digital channel" can still be reached on.
NON_DIGITAL = frozenset({"postal", "phone"})
# Quiet hours protect people from being interrupted; a letter or a hand-over to another system
# interrupts no one at night, so they are not held.
INTERRUPTING = frozenset({"email", "sms", "phone"})
COMPANY_CHANNEL_ORDER = ("email", "sms", "postal", "phone", "webhook")

DELIVER = "deliver"
DEFER = "defer"
BLOCK = "block"

# Effects of one reason: it allowed the message, shaped it, held it or stopped it.
OK = "ok"
INFO = "info"

WEEK = timedelta(days=7)
MONTH = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Params:
    """What the company decided for one purpose; admins tune these (membrane.services)."""

    consent_required: bool = True
    relevance_minimum: float = 0.0
    bad_experience_days: int = 0
    duplicate_days: int = 30
    survey_recontact_days: int = 0
    week_cap: int | None = None
    month_cap: int | None = None
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)


DEFAULT_PARAMS: dict[str, Params] = {
    # Service messages rest on the contract: no opt-in needed, but an opt-out is honoured.
    "service": Params(consent_required=False, duplicate_days=1),
    "marketing": Params(relevance_minimum=0.01, bad_experience_days=30, week_cap=2, month_cap=6),
    # Asking for feedback rests on legitimate interest: opt-out honoured, recontact limited.
    "feedback": Params(consent_required=False, survey_recontact_days=30, duplicate_days=90),
    "personalisation": Params(week_cap=3),
    "research": Params(survey_recontact_days=90, month_cap=1),
}


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the customer told us about being contacted."""

    channels: tuple[str, ...] = ()
    topics: frozenset[str] = frozenset()
    max_per_week: int | None = None
    max_per_month: int | None = None
    # (purpose, per week, per month); None means no limit of that length.
    purpose_caps: tuple[tuple[str, int | None, int | None], ...] = ()
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_days: frozenset[int] = frozenset()  # 0 = Monday
    no_digital: bool = False
    marketing_paused_until: date | None = None


NO_PREFERENCES = Preferences()


@dataclass(frozen=True, slots=True)
class CustomerState:
    """Everything the policies look at for one customer. Hashable: equal states decide alike."""

    language: str = "fr"
    time_zone: str = "Europe/Paris"
    granted: frozenset[tuple[str, str]] = frozenset()  # (purpose, channel) consented
    withdrawn: frozenset[tuple[str, str]] = frozenset()  # (purpose, channel) refused
    do_not_contact: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()  # channels with a usable address
    preferences: Preferences = NO_PREFERENCES
    interests: frozenset[str] = frozenset()  # declared attributes that name topics
    # Delivered lately (30 days, or the longest duplicate window): (when, purpose, message id).
    recent: tuple[tuple[datetime, str, int], ...] = ()
    pending_messages: frozenset[int] = frozenset()  # decided, waiting to be sent
    bad_experience_at: datetime | None = None
    open_complaint: bool = False
    last_survey_at: datetime | None = None
    surveyed_interactions: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class MessageSpec:
    id: int
    purpose: str
    topics: frozenset[str] = frozenset()
    priority: int = 3
    expires_at: datetime | None = None
    variants: frozenset[tuple[str, str]] = frozenset()  # (channel, language)
    interaction_id: int | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    effect: str  # ok, info, defer, block
    params: tuple[tuple[str, object], ...] = ()

    def as_dict(self) -> dict:
        return {"code": self.code, "effect": self.effect, "params": dict(self.params)}


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str
    channel: str = ""
    language: str = ""
    send_at: datetime | None = None
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def blocking_reason(self) -> str:
        """The reason that stopped the message (always the last), or the first that held it."""
        if self.outcome == BLOCK and self.reasons:
            return self.reasons[-1].code
        for reason in self.reasons:
            if reason.effect == DEFER:
                return reason.code
        return ""


# The policies in the order they are applied; the membrane page lists them in this order.
POLICY_ORDER = (
    "expiry",
    "consent",
    "do_not_contact",
    "address",
    "channel_preference",
    "marketing_pause",
    "relevance",
    "bad_experience",
    "duplicate",
    "survey_recontact",
    "quiet_hours",
    "frequency",
)


def _r(code: str, effect: str, **params) -> Reason:
    return _reason(code, effect, tuple(sorted(params.items())))


@lru_cache(maxsize=65_536)
def _reason(code: str, effect: str, params: tuple) -> Reason:
    # A campaign gives the same few thousand reasons to a million customers: share them.
    return Reason(code, effect, params)


def decide(state: CustomerState, message: MessageSpec, params: Params, now: datetime) -> Decision:
    """Decide whether, when and on which channel this message may reach this customer."""
    reasons: list[Reason] = []
    purpose = message.purpose
    prefs = state.preferences

    def block(reason: Reason) -> Decision:
        reasons.append(reason)
        return Decision(BLOCK, reasons=tuple(reasons))

    if message.expires_at is not None and message.expires_at <= now:
        return block(_r("message_expired", BLOCK, at=message.expires_at))

    # Channels: offered by the message, then narrowed by consent, do-not-contact, address and
    # the customer's own choice; every channel dropped says why.
    offered = {channel for channel, _language in message.variants}
    order = prefs.channels or COMPANY_CHANNEL_ORDER
    candidates = [c for c in order if c in offered]
    if prefs.channels:
        for channel in sorted(offered - set(prefs.channels)):
            reasons.append(_r("channel_not_chosen", INFO, channel=channel))
    if not candidates:
        return block(_r("no_channel_offered", BLOCK, purpose=purpose))

    usable = []
    for channel in candidates:
        key = (purpose, channel)
        if key in state.withdrawn:
            reasons.append(_r("consent_withdrawn", INFO, purpose=purpose, channel=channel))
        elif params.consent_required and key not in state.granted:
            reasons.append(_r("consent_missing", INFO, purpose=purpose, channel=channel))
        elif channel in state.do_not_contact:
            reasons.append(_r("do_not_contact", INFO, channel=channel))
        elif channel not in state.addresses:
            reasons.append(_r("no_address", INFO, channel=channel))
        elif prefs.no_digital and channel not in NON_DIGITAL:
            reasons.append(_r("no_digital", INFO, channel=channel))
        else:
            usable.append(channel)
    if not usable:
        return block(_r("no_usable_channel", BLOCK, purpose=purpose))
    channel = usable[0]
    if params.consent_required:
        reasons.append(_r("consent_given", OK, purpose=purpose, channel=channel))
    else:
        reasons.append(_r("consent_not_needed", OK, purpose=purpose, channel=channel))
    reasons.append(
        _r(
            "channel_chosen",
            OK,
            channel=channel,
            chosen_by="customer" if prefs.channels else "company",
        )
    )
    language = state.language
    if (channel, language) not in message.variants:
        language = next(lang for c, lang in sorted(message.variants) if c == channel)
        reasons.append(_r("language_fallback", INFO, wanted=state.language, used=language))

    earliest = now
    if purpose == "marketing" and prefs.marketing_paused_until is not None:
        resume = datetime.combine(
            prefs.marketing_paused_until, time(9, 0), tzinfo=_zone(state.time_zone)
        )
        if resume > now:
            reasons.append(_r("marketing_paused", DEFER, until=prefs.marketing_paused_until))
            earliest = resume

    if message.topics and params.relevance_minimum > 0:
        interests = prefs.topics | state.interests
        if not interests:
            reasons.append(_r("relevance_unknown", INFO))
        else:
            matched = message.topics & interests
            score = len(matched) / len(message.topics)
            if score < params.relevance_minimum:
                return block(_r("not_relevant", BLOCK, topics=",".join(sorted(message.topics))))
            reasons.append(_r("relevant", OK, topics=",".join(sorted(matched))))

    if params.bad_experience_days:
        if state.open_complaint:
            return block(_r("open_complaint", BLOCK))
        if state.bad_experience_at is not None:
            until = state.bad_experience_at + timedelta(days=params.bad_experience_days)
            if until > earliest:
                reasons.append(_r("recent_bad_experience", DEFER, until=until))
                earliest = until

    if params.duplicate_days:
        since = now - timedelta(days=params.duplicate_days)
        if message.id in state.pending_messages or any(
            mid == message.id and at >= since for at, _p, mid in state.recent
        ):
            return block(_r("duplicate", BLOCK, days=params.duplicate_days))

    if params.survey_recontact_days and purpose in ("feedback", "research"):
        if message.interaction_id is not None and (
            message.interaction_id in state.surveyed_interactions
        ):
            return block(_r("interaction_already_surveyed", BLOCK))
        if state.last_survey_at is not None:
            until = state.last_survey_at + timedelta(days=params.survey_recontact_days)
            if until > now:
                return block(
                    _r(
                        "survey_recontact",
                        BLOCK,
                        days=params.survey_recontact_days,
                        last=state.last_survey_at,
                    )
                )

    for label, _window, limit, _own in _caps(state, purpose, params):
        if limit <= 0:
            return block(_r("cap_zero", BLOCK, cap=label, purpose=purpose))

    # Quiet hours and caps move the sending time forward; they never drop a message unless it
    # would arrive after it expires. A cap freeing up may land in quiet hours, hence the loop.
    send_at = earliest
    for _round in range(6):
        moved = False
        if channel in INTERRUPTING:
            after_quiet = _after_quiet_hours(send_at, state, params)
            if after_quiet != send_at:
                reasons.append(_r("quiet_hours", DEFER, until=after_quiet))
                send_at, moved = after_quiet, True
        cap_free = _after_caps(send_at, state, purpose, params, reasons)
        if cap_free != send_at:
            send_at, moved = cap_free, True
        if not moved:
            break

    if message.expires_at is not None and send_at >= message.expires_at:
        return block(_r("would_expire", BLOCK, at=message.expires_at))
    if send_at > now:
        return Decision(DEFER, channel, language, send_at, tuple(reasons))
    reasons.append(_r("within_limits", OK))
    return Decision(DELIVER, channel, language, now, tuple(reasons))


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def quiet_window(state: CustomerState, params: Params) -> tuple[time | None, time | None]:
    prefs = state.preferences
    if prefs.quiet_start is not None and prefs.quiet_end is not None:
        return prefs.quiet_start, prefs.quiet_end
    return params.quiet_start, params.quiet_end


def _is_quiet(local: datetime, start: time | None, end: time | None, days: frozenset[int]) -> bool:
    if local.weekday() in days:
        return True
    if start is None or end is None or start == end:
        return False
    clock = local.time()
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end  # the window wraps past midnight


def _after_quiet_hours(moment: datetime, state: CustomerState, params: Params) -> datetime:
    """The first moment at or after `moment` outside the customer's quiet hours and days.

    Worked in the customer's own zone, so a window set as 21:00-08:00 stays 21:00-08:00 across
    daylight-saving changes; an end time that does not exist that night (skipped by the clock
    change) resolves to the first real instant after it.
    """
    zone = _zone(state.time_zone)
    start, end = quiet_window(state, params)
    days = state.preferences.quiet_days
    if len(days) >= 7:
        days = frozenset()  # "never on any day" would mean never: treat as a mistake, not a ban
    local = moment.astimezone(zone)
    for _step in range(16):
        if not _is_quiet(local, start, end, days):
            return local.astimezone(moment.tzinfo)
        if local.weekday() in days:
            nxt = datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=zone)
        else:
            day = local.date()
            if end is not None and local.time() >= end:
                day += timedelta(days=1)
            nxt = datetime.combine(day, end, tzinfo=zone)
        local = _wall_instant(nxt, after=local)
    return local.astimezone(moment.tzinfo)


def _wall_instant(wall: datetime, *, after: datetime) -> datetime:
    """The first real instant after `after` when the clock of `wall`'s zone shows `wall` or later.

    A time repeated when the clock goes back has two instants: the first still ahead is taken.
    A time skipped when it goes forward has none: it resolves to the change itself, when the
    clock jumps past it (a quiet window ending 02:30 on that night ends at 03:00).
    """
    first = wall.replace(fold=0).astimezone(ZoneInfo("UTC"))
    second = wall.replace(fold=1).astimezone(ZoneInfo("UTC"))
    if first <= second:  # an ordinary time (both equal) or a repeated one
        return (first if first > after else second).astimezone(wall.tzinfo)
    # Skipped: the change lies between `second` (before it) and `first` (after it).
    naive = wall.replace(tzinfo=None)
    before, since = int(second.timestamp()), int(first.timestamp())
    while since - before > 1:
        middle = (before + since) // 2
        if datetime.fromtimestamp(middle, wall.tzinfo).replace(tzinfo=None) >= naive:
            since = middle
        else:
            before = middle
    return datetime.fromtimestamp(since, wall.tzinfo)


def _caps(state: CustomerState, purpose: str, params: Params):
    return _caps_of(state.preferences, purpose, params)


def _caps_of(prefs: Preferences, purpose: str, params: Params):
    """(label, window, limit, counts this purpose only) for every cap that applies."""
    caps = []
    if prefs.max_per_week is not None:
        caps.append(("customer_week", WEEK, prefs.max_per_week, False))
    if prefs.max_per_month is not None:
        caps.append(("customer_month", MONTH, prefs.max_per_month, False))
    own = {p: (week, month) for p, week, month in prefs.purpose_caps}
    week, month = own.get(purpose, (params.week_cap, params.month_cap))
    if week is not None:
        caps.append(("purpose_week", WEEK, week, True))
    if month is not None:
        caps.append(("purpose_month", MONTH, month, True))
    return caps


def _after_caps(
    moment: datetime, state: CustomerState, purpose: str, params: Params, reasons: list[Reason]
) -> datetime:
    """The first moment at or after `moment` when every cap has room for one more message."""
    for label, window, limit, own_purpose_only in _caps(state, purpose, params):
        # A message stamped after `moment` counts too: another sender whose clock read a little
        # later claimed it first, and it went out all the same.
        counted = [
            at
            for at, p, _mid in state.recent
            if at > moment - window and (not own_purpose_only or p == purpose)
        ]
        if len(counted) >= limit:
            # Room comes back when enough of the counted messages leave the rolling window.
            counted.sort()
            freed = counted[len(counted) - limit] + window
            reasons.append(
                _r("frequency_cap", DEFER, cap=label, limit=limit, purpose=purpose, until=freed)
            )
            moment = freed
    return moment


def without_idle_history(
    state: CustomerState, message: MessageSpec, params: Params, now: datetime
) -> CustomerState:
    """The same state without its delivery history when that history cannot change the decision.

    Two customers whose histories are both idle then share one decision, which is what keeps
    a million-customer campaign to a few thousand distinct decisions.
    """
    if history_matters(state.recent, state.preferences, message, params, now):
        return state
    return replace(state, recent=())


def history_matters(
    recent: tuple, prefs: Preferences, message: MessageSpec, params: Params, now: datetime
) -> bool:
    """Whether this delivery history can change the decision about this message.

    History matters for duplicates (this message among it) and for caps that are already
    full. Every delivery in it happened at or before `now` and a message is only ever moved
    later, so a window that holds fewer deliveries than its limit now never fills up for this
    message. Loaders call this before building states, so idle histories never split them.
    """
    for _at, _purpose, message_id in recent:
        if message_id == message.id:
            return True
    purpose = message.purpose
    counts = {}
    for window, own_purpose_only in ((WEEK, False), (MONTH, False), (WEEK, True), (MONTH, True)):
        since = now - window
        counts[window, own_purpose_only] = sum(
            1 for at, p, _mid in recent if at > since and (not own_purpose_only or p == purpose)
        )
    return a_cap_is_full(prefs, purpose, params, counts)


def a_cap_is_full(prefs: Preferences, purpose: str, params: Params, counts: dict) -> bool:
    """Whether a cap is already full, from counts of deliveries per (window, this purpose only).

    Loaders that count deliveries in SQL use it to read whole histories only where they matter.
    """
    return any(
        counts[window, own_purpose_only] >= limit
        for _label, window, limit, own_purpose_only in _caps_of(prefs, purpose, params)
    )


def decide_many(states, message: MessageSpec, params: Params, now: datetime):
    """Decide for (customer id, state) pairs; each distinct state is decided once.

    Yields (customer id, Decision). Decisions are shared objects: treat them as read-only.
    A loader that hands out one object per distinct state (membrane.queries) is recognised
    by identity first, which spares hashing a state per customer.
    """
    seen: dict[CustomerState, Decision] = {}
    # id(state) -> (state, decision); the state is kept so its id cannot be reused meanwhile.
    by_identity: dict[int, tuple[CustomerState, Decision]] = {}
    for customer_id, state in states:
        known = by_identity.get(id(state))
        if known is not None and known[0] is state:
            yield customer_id, known[1]
            continue
        key = without_idle_history(state, message, params, now) if state.recent else state
        decision = seen.get(key)
        if decision is None:
            decision = seen[key] = decide(key, message, params, now)
        by_identity[id(state)] = (state, decision)
        yield customer_id, decision
