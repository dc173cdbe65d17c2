"""Membrane benchmark on PostgreSQL: a campaign decided for a million customers, and one decision.

    .venv/bin/python bench/membrane.py                      # 1,000,000 customers
    .venv/bin/python bench/membrane.py --customers 20000    # quick check

The bench database is dropped and created again at every run (its name must contain "bench").
Customers come with varied consents, contact points, do-not-contact entries, preferences,
declared interests, sending history and complaints, written by COPY (generation is timed apart
and is not part of the figures). Then, in one process, on the same data:

1. reference: a bare `SELECT count(*)` over the customers joined to the tables the state
   loader reads (consent states for the purpose, contact points, do-not-contact);
2. dry run: `campaign_dry_run` of a marketing campaign over everyone (nothing recorded);
3. real run: `campaign_run` of the same campaign, recording a decision per customer and a
   pending delivery per customer not blocked (the sender task is queued on a dummy backend,
   so sending is not included);
4. single decision: POST /api/decisions with send=false for random customers through Django's
   test client, timed around each request (no network; the membrane reads the real clock here,
   so at night most answers are held by quiet hours);
5. sending: `deliveries_send_due` over a slice of the campaign's email deliveries, with the
   in-memory email backend.

`--profile FILE` runs the dry run once more under cProfile, right after the timed one, saves
the stats and prints the functions that took longest.

Targets (issue): the million decided in under 10 s (100,000 decisions/s), the single decision's
p99 under 10 ms. The figures are reported, never asserted; the exit status is non-zero only when
the recorded rows are wrong. The last line of the output is one JSON object with all the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import platform
import pstats
import random
import sys
import time
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

# Shared with the ingestion benchmark: database handling, checkpoints, percentiles, the table.
from ingest import (
    DEFAULT_URL,
    checkpoint,
    count,
    cpu_busy_fraction,
    django_on_fresh_database,
    log,
    percentile,
    report_end,
    server_settings,
    table,
)

TARGET_RATE = 100_000  # decisions per second: the million in 10 s
TARGET_SINGLE_P99_MS = 10.0
LOCMEM_EMAIL = "django.core.mail.backends.locmem.EmailBackend"
PURPOSE = "marketing"
TOPICS = ("price", "store", "delivery", "fashion", "garden", "sport")
STAGES = ("new", "active", "active", "active", "lapsing", "dormant")
WORDING = (
    "I agree to receive news and offers from Example by the channels I tick. "
    "J'accepte de recevoir les actualités et offres d'Example par les canaux cochés."
)
ACTOR_LABEL = "bench"
REFERENCE_SQL = """
    SELECT count(*)
    FROM customers_customer c
    LEFT JOIN membrane_consentstate cs ON cs.customer_id = c.id AND cs.purpose = %s
    LEFT JOIN customers_contactpoint cp ON cp.customer_id = c.id
    LEFT JOIN membrane_donotcontact dn ON dn.customer_id = c.id AND dn.lifted_at IS NULL
    WHERE c.merged_into_id IS NULL
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers (1,000,000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL,
        help="PostgreSQL URL of the bench database, dropped and created again "
        "(default: $BENCH_DATABASE_URL or %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (1)")
    parser.add_argument(
        "--single-requests", type=int, default=2000, help="single-decision API calls (2000)"
    )
    parser.add_argument(
        "--send-slice", type=int, default=10_000, help="deliveries sent in phase 5; 0 skips it"
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="after the timed phases, run the dry run again under cProfile and save the stats",
    )
    args = parser.parse_args(argv)
    if args.customers < 100:
        parser.error("need --customers >= 100")
    if args.single_requests < 1 or args.send_slice < 0:
        parser.error("need --single-requests >= 1 and --send-slice >= 0")
    parts = urlsplit(args.database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        parser.error("--database-url must be a postgres:// URL")
    if "bench" not in parts.path:
        parser.error("the bench database is dropped at start: its name must contain 'bench'")
    return args


def bench_moment() -> datetime:
    """The campaign's moment: the last 15:00 in Paris, so quiet hours hold only some zones."""
    paris = ZoneInfo("Europe/Paris")
    now = datetime.now(paris)
    moment = now.replace(hour=15, minute=0, second=0, microsecond=0)
    if moment > now:
        moment -= timedelta(days=1)
    return moment.astimezone(UTC)


# --- generated data ------------------------------------------------------------------------


def copy_rows(table_name: str, columns: tuple[str, ...], rows) -> int:
    """COPY the rows (tuples in `columns` order; JSON already as text) into the table."""
    from django.db import connection, transaction

    written = 0
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def sequence_move(table_name: str) -> None:
    """Move the id sequence past ids given explicitly by COPY."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table_name}), false)",
            [table_name],
        )


def _time_zone(r: float) -> str:
    if r < 0.70:
        return "Europe/Paris"
    if r < 0.80:
        return "America/Montreal"
    if r < 0.88:
        return "UTC"
    if r < 0.95:
        return "Europe/London"
    return "Indian/Reunion"


def customer_rows(n: int, rng: random.Random, created: datetime, languages: list[str]):
    for c in range(1, n + 1):
        language = "en" if rng.random() < 0.25 else "fr"
        languages.append(language)
        yield (
            c,
            "",
            "",
            language,
            _time_zone(rng.random()),
            STAGES[rng.randrange(len(STAGES))],
            rng.randrange(101),
            None,
            None,
            None,
            created,
            created,
        )


CUSTOMER_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "language",
    "time_zone",
    "lifecycle_stage",
    "intensity",
    "first_interaction_at",
    "last_interaction_at",
    "merged_into_id",
    "created_at",
    "updated_at",
)


def contact_point_rows(n: int, rng: random.Random, created: datetime):
    """Email for most, a phone for about 60 %, a postal address for about 30 %; all unique."""
    for c in range(1, n + 1):
        if rng.random() < 0.95:
            yield (c, "email", "", f"c{c}@example.org", rng.random() < 0.5, "bench", created)
        if rng.random() < 0.6:
            yield (c, "phone", "", f"+336{c:08d}", False, "bench", created)
        if rng.random() < 0.3:
            yield (
                c,
                "postal",
                "",
                f"{c} rue de la République, 69002 Lyon",
                False,
                "bench",
                created,
            )


CONTACT_POINT_COLUMNS = (
    "customer_id",
    "kind",
    "system",
    "value",
    "verified",
    "source",
    "created_at",
)

# (purpose, channel, share granted, share withdrawn after a grant)
CONSENT_MIX = (
    ("marketing", "email", 0.55, 0.05),
    ("marketing", "sms", 0.20, 0.02),
    ("marketing", "postal", 0.10, 0.01),
    ("feedback", "email", 0.0, 0.03),
)
CONSENT_SOURCES = ("web_form", "web_form", "import", "preference_centre", "paper", "staff")


def consent_event_rows(n, rng, moment, wording_id, states: list[tuple]):
    """The consent ledger; the state of each (customer, purpose, channel) goes to `states`."""
    event_id = 0
    recorded = moment
    for c in range(1, n + 1):
        for purpose, channel, granted_share, withdrawn_share in CONSENT_MIX:
            r = rng.random()
            if r >= granted_share + withdrawn_share:
                continue
            given_at = moment - timedelta(days=rng.uniform(31, 700))
            source = CONSENT_SOURCES[rng.randrange(len(CONSENT_SOURCES))]
            events = [(True, given_at)]
            if r >= granted_share:  # given once, withdrawn later
                events.append((False, given_at + timedelta(days=rng.uniform(1, 30))))
            for granted, at in events:
                event_id += 1
                yield (
                    event_id,
                    c,
                    purpose,
                    channel,
                    granted,
                    at,
                    recorded,
                    source,
                    wording_id,
                    None,
                    ACTOR_LABEL,
                    None,
                    "",
                    "",
                )
            states.append((c, purpose, channel, events[-1][0], event_id, events[-1][1]))


CONSENT_EVENT_COLUMNS = (
    "id",
    "customer_id",
    "purpose",
    "channel",
    "granted",
    "occurred_at",
    "recorded_at",
    "source",
    "wording_id",
    "actor_id",
    "actor_label",
    "ip_address",
    "user_agent",
    "note",
)
CONSENT_STATE_COLUMNS = ("customer_id", "purpose", "channel", "granted", "event_id", "changed_at")


def do_not_contact_rows(n, rng, moment):
    """About 3 % on a channel (mostly email), and a few more already lifted."""
    reasons = ("unsubscribed", "bounced", "complaint", "staff")
    for c in range(1, n + 1):
        r = rng.random()
        if r >= 0.035:
            continue
        channel = "email" if rng.random() < 0.8 else "sms"
        since = moment - timedelta(days=rng.uniform(1, 400))
        lifted = r >= 0.03
        yield (
            c,
            channel,
            reasons[rng.randrange(len(reasons))],
            "",
            since,
            ACTOR_LABEL,
            since + timedelta(days=10) if lifted else None,
            ACTOR_LABEL if lifted else "",
        )


DO_NOT_CONTACT_COLUMNS = (
    "customer_id",
    "channel",
    "reason",
    "note",
    "created_at",
    "created_by",
    "lifted_at",
    "lifted_by",
)

PREFERRED_CHANNELS = ([], [], ["email"], ["sms", "email"], ["email", "postal"], ["postal"])
QUIET_HOURS = (
    (None, None),
    (None, None),
    (clock(22, 0), clock(7, 0)),
    (clock(20, 0), clock(9, 0)),
    (clock(12, 0), clock(14, 0)),
)
QUIET_DAYS = ([], [], [], [6], [5, 6])
PURPOSE_CAPS = ({}, {}, {}, {"marketing": {"week": 1}}, {"marketing": {"month": 2}})


def preference_rows(n, rng, moment):
    """About 20 % of the customers told us how to contact them."""
    paused = (moment + timedelta(days=12)).date()
    for c in range(1, n + 1):
        if rng.random() >= 0.2:
            continue
        channels = PREFERRED_CHANNELS[rng.randrange(len(PREFERRED_CHANNELS))]
        accessibility = []
        r = rng.random()
        if r < 0.02:
            accessibility, channels = ["no_digital", "large_print"], ["postal"]
        elif r < 0.05:
            accessibility = ["large_print"]
        topics = rng.sample(TOPICS, rng.randrange(4)) if rng.random() < 0.6 else []
        quiet_start, quiet_end = QUIET_HOURS[rng.randrange(len(QUIET_HOURS))]
        yield (
            c,
            json.dumps(channels),
            json.dumps(sorted(topics)),
            rng.choice((None, None, 1, 2, 3)),
            rng.choice((None, None, 4, 8)),
            json.dumps(PURPOSE_CAPS[rng.randrange(len(PURPOSE_CAPS))]),
            quiet_start,
            quiet_end,
            json.dumps(QUIET_DAYS[rng.randrange(len(QUIET_DAYS))]),
            json.dumps(accessibility),
            paused if rng.random() < 0.05 else None,
            moment,
        )


PREFERENCE_COLUMNS = (
    "customer_id",
    "channels",
    "topics",
    "max_per_week",
    "max_per_month",
    "purpose_caps",
    "quiet_start",
    "quiet_end",
    "quiet_days",
    "accessibility",
    "marketing_paused_until",
    "updated_at",
)


def interest_rows(n, rng, moment):
    """Declared interests (topics, in words) for about 10 % of the customers."""
    for c in range(1, n + 1):
        if rng.random() < 0.1:
            value = ", ".join(rng.sample(TOPICS, rng.randint(1, 3)))
            yield (c, "interests", value, moment - timedelta(days=90), "web", "bench")


ATTRIBUTE_COLUMNS = ("customer_id", "key", "value", "declared_at", "channel", "source")


def history_rows(n, rng, moment, languages, messages, reason_set_id, deliveries: list[tuple]):
    """Messages sent in the last 30 days to about 25 % (decisions; deliveries to `deliveries`)."""
    decision_id = 0
    for c in range(1, n + 1):
        if rng.random() >= 0.25:
            continue
        for _sent in range(rng.randint(1, 3)):
            message_id, purpose = messages[rng.randrange(len(messages))]
            at = moment - timedelta(seconds=rng.uniform(600, 30 * 86400))
            channel = "email" if rng.random() < 0.85 else "sms"
            decision_id += 1
            yield (
                decision_id,
                c,
                message_id,
                None,
                None,
                purpose,
                "deliver",
                channel,
                languages[c - 1],
                at,
                reason_set_id,
                at,
            )
            deliveries.append(
                (
                    decision_id,
                    c,
                    message_id,
                    purpose,
                    channel,
                    3,
                    "sent",
                    at,
                    1,
                    at,
                    at,
                    "",
                    "",
                    "[]",
                )
            )


DECISION_COLUMNS = (
    "id",
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
)
DELIVERY_COLUMNS = (
    "decision_id",
    "customer_id",
    "message_id",
    "purpose",
    "channel",
    "priority",
    "status",
    "due_at",
    "attempts",
    "claimed_at",
    "sent_at",
    "last_error",
    "provider_ref",
    "reasons",
)


def complaint_rows(n, rng, moment, touchpoint_id):
    """Complaints from about 2 %: half still open, half settled within the last 60 days."""
    for c in range(1, n + 1):
        if rng.random() >= 0.02:
            continue
        at = moment - timedelta(days=rng.uniform(0.5, 60))
        outcome = "open" if rng.random() < 0.5 else "resolved"
        yield (
            c,
            touchpoint_id,
            "phone",
            at,
            "inbound",
            "complaint",
            outcome,
            None,
            None,
            None,
            None,
            "",
            "bench",
            f"complaint-{c}",
            "{}",
            at,
        )


def reference_data_create(moment: datetime) -> dict:
    """The wording, touchpoint, messages, segment and campaign the phases use (through the ORM)."""
    from cxcore.customers.services import segment_save
    from cxcore.interactions.models import Touchpoint
    from cxcore.lib.actor import Actor
    from cxcore.membrane import services
    from cxcore.membrane.models import ReasonSet

    actor = Actor(via="bench")
    wording = services.consent_wording_for(text=WORDING, language="en", version="bench-v1")
    touchpoint = Touchpoint.objects.create(
        code="after-sales", name_en="After-sales", name_fr="Service après-vente", kind="after_sales"
    )

    def message(name, purpose, topics=()):
        variants = [
            {
                "channel": channel,
                "language": language,
                "subject": f"{name} ({language})" if channel == "email" else "",
                "body": f"{name}: {'bonjour' if language == 'fr' else 'hello'} ({channel})",
            }
            for channel in ("email", "sms", "postal")
            for language in ("fr", "en")
        ]
        return services.message_create(
            actor=actor, name=name, purpose=purpose, variants=variants, topics=list(topics)
        )

    history = [
        message("Winter sale", "marketing", ["price"]),
        message("New store in Lyon", "marketing", ["store"]),
        message("Your order has shipped", "service"),
    ]
    campaign_message = message("Spring offers", PURPOSE, ["price", "store"])
    # The API phase asks about a message of its own: the campaign's is pending for everyone
    # after the real run, which would make every answer a duplicate.
    single_message = message("Spring offers, one by one", PURPOSE, ["price", "store"])
    segment = segment_save(actor=actor, name="Everyone", rules=[], description="bench")
    campaign = services.campaign_create(
        actor=actor,
        name="Spring offers",
        message=campaign_message,
        segment=segment,
        scheduled_at=moment,
    )
    reasons = [{"code": "within_limits", "effect": "ok", "params": {}}]
    reason_set = ReasonSet.objects.create(
        sha256=hashlib.sha256(b"bench-history").hexdigest(), reasons=reasons
    )
    return {
        "wording_id": wording.pk,
        "touchpoint_id": touchpoint.pk,
        "history": [(m.pk, m.purpose) for m in history],
        "campaign": campaign,
        "single_message_id": single_message.pk,
        "reason_set_id": reason_set.pk,
    }


def data_generate(n: int, seed: int, moment: datetime, refs: dict) -> dict[str, int]:
    """Write the population by COPY, table by table; return the rows written per table."""
    from cxcore.interactions.services import INTERACTION_COLUMNS

    def rng(part: str) -> random.Random:
        return random.Random(f"cxcore-bench-membrane:{seed}:{part}")

    written = {}
    languages: list[str] = []
    written["customers"] = copy_rows(
        "customers_customer",
        CUSTOMER_COLUMNS,
        customer_rows(n, rng("customers"), moment, languages),
    )
    sequence_move("customers_customer")
    written["contact_points"] = copy_rows(
        "customers_contactpoint",
        CONTACT_POINT_COLUMNS,
        contact_point_rows(n, rng("contact_points"), moment),
    )
    states: list[tuple] = []
    written["consent_events"] = copy_rows(
        "membrane_consentevent",
        CONSENT_EVENT_COLUMNS,
        consent_event_rows(n, rng("consents"), moment, refs["wording_id"], states),
    )
    sequence_move("membrane_consentevent")
    written["consent_states"] = copy_rows("membrane_consentstate", CONSENT_STATE_COLUMNS, states)
    del states
    written["do_not_contact"] = copy_rows(
        "membrane_donotcontact", DO_NOT_CONTACT_COLUMNS, do_not_contact_rows(n, rng("dnc"), moment)
    )
    written["preferences"] = copy_rows(
        "membrane_preference", PREFERENCE_COLUMNS, preference_rows(n, rng("preferences"), moment)
    )
    written["interests"] = copy_rows(
        "customers_declaredattribute", ATTRIBUTE_COLUMNS, interest_rows(n, rng("interests"), moment)
    )
    deliveries: list[tuple] = []
    written["history_decisions"] = copy_rows(
        "membrane_decision",
        DECISION_COLUMNS,
        history_rows(
            n,
            rng("history"),
            moment,
            languages,
            refs["history"],
            refs["reason_set_id"],
            deliveries,
        ),
    )
    sequence_move("membrane_decision")
    written["history_deliveries"] = copy_rows("membrane_delivery", DELIVERY_COLUMNS, deliveries)
    del deliveries
    written["complaints"] = copy_rows(
        "interactions_interaction",
        INTERACTION_COLUMNS,
        complaint_rows(n, rng("complaints"), moment, refs["touchpoint_id"]),
    )
    return written


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- phases ----------------------------------------------------------------------------------


def phase_reference() -> tuple[float, int]:
    checkpoint()
    started = time.perf_counter()
    joined = count(REFERENCE_SQL, [PURPOSE])
    return time.perf_counter() - started, joined


def phase_dry_run(campaign, moment) -> tuple[float, dict]:
    from cxcore.membrane import services

    checkpoint()
    started = time.perf_counter()
    result = services.campaign_dry_run(campaign=campaign, now=moment)
    return time.perf_counter() - started, result


def phase_run(campaign, moment) -> tuple[float, dict]:
    from cxcore.membrane import services

    checkpoint()
    started = time.perf_counter()
    results = services.campaign_run(campaign_id=campaign.pk, now=moment)
    return time.perf_counter() - started, results


def phase_single(secret: str, message_id: int, n_customers: int, requests: int, seed: int):
    """Latencies (seconds) of POST /api/decisions with send=false, and the outcomes."""
    from django.test import Client

    client = Client(headers={"Authorization": f"Bearer {secret}"})
    rng = random.Random(f"cxcore-bench-membrane:{seed}:single")

    def ask(customer_id: int):
        body = {"customer": customer_id, "message": message_id, "send": False}
        t0 = time.perf_counter()
        response = client.post("/api/decisions", body, content_type="application/json")
        latency = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(
                f"POST /api/decisions for {customer_id}: HTTP {response.status_code}: "
                f"{response.content[:300]!r}"
            )
        return latency, response.json()["outcome"]

    for _warm in range(min(50, requests)):  # connections, caches and imports, not counted
        ask(rng.randrange(1, n_customers + 1))
    checkpoint()
    latencies, outcomes = [], Counter()
    for _request in range(requests):
        latency, outcome = ask(rng.randrange(1, n_customers + 1))
        latencies.append(latency)
        outcomes[outcome] += 1
    return latencies, dict(outcomes)


def phase_send(campaign, moment, size: int) -> tuple[float, int, int]:
    """Send a slice of the campaign's due email deliveries; (seconds, handed over, emails)."""
    from django.core import mail
    from django.db import connection

    from cxcore.membrane import services

    # Only the slice is due: the campaign's other due deliveries are pushed a year ahead.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH slice AS (
                SELECT id FROM membrane_delivery
                WHERE message_id = %s AND status = 'pending' AND channel = 'email'
                  AND due_at <= %s
                ORDER BY id LIMIT %s
            )
            UPDATE membrane_delivery SET due_at = due_at + interval '365 days'
            WHERE status = 'pending' AND due_at <= %s AND id NOT IN (SELECT id FROM slice)
            """,
            [campaign.message_id, moment, size, moment],
        )
    due = count(
        "SELECT count(*) FROM membrane_delivery WHERE status = 'pending' AND due_at <= %s",
        [moment],
    )
    mail.outbox = []
    checkpoint()
    started = time.perf_counter()
    handed = services.deliveries_send_due(now=moment)
    seconds = time.perf_counter() - started
    log(f"  {due:,} due, {handed:,} handed to a backend")
    return seconds, handed, len(mail.outbox)


def profile_dry_run(campaign, moment, path: str) -> None:
    from cxcore.membrane import services

    profiler = cProfile.Profile()
    profiler.enable()
    services.campaign_dry_run(campaign=campaign, now=moment)
    profiler.disable()
    profiler.dump_stats(path)
    stats = pstats.Stats(path, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(20)


# --- report ----------------------------------------------------------------------------------


def api_user_create() -> str:
    """A user in the admin role with a read token; return the bearer secret."""
    from django.contrib.auth.models import Group, User

    from cxcore.api.services import api_token_create
    from cxcore.lib.actor import Actor

    user = User.objects.create_user("bench-admin", password=None)
    user.groups.add(Group.objects.get(name="admin"))
    _token, secret = api_token_create(
        actor=Actor(user=user, via="bench"), name="bench", scope="read", days=1
    )
    return secret


def main(argv=None) -> int:
    args = parse_args(argv)
    # WhiteNoise warns that collectstatic never ran; the API answers need no static files.
    warnings.filterwarnings("ignore", message="No directory at")
    # The campaign queues the sender, never run here; Django's test client is "testserver".
    django_on_fresh_database(
        args.database_url, EMAIL_BACKEND=LOCMEM_EMAIL, ALLOWED_HOSTS="testserver"
    )
    from django.conf import settings

    assert settings.EMAIL_BACKEND == LOCMEM_EMAIL
    secret = api_user_create()
    moment = bench_moment()
    refs = reference_data_create(moment)
    campaign = refs["campaign"]
    pg_version = count("SHOW server_version_num")
    pg_settings = server_settings()
    busy_at_start = cpu_busy_fraction()
    n = args.customers

    log(f"generating {n:,} customers (COPY)")
    t0 = time.perf_counter()
    written = data_generate(n, args.seed, moment, refs)
    generation_seconds = time.perf_counter() - t0
    log(f"generated in {generation_seconds:.1f}s: {written}")
    t0 = time.perf_counter()
    vacuum_analyze()
    vacuum_seconds = time.perf_counter() - t0
    log(f"VACUUM ANALYZE in {vacuum_seconds:.1f}s")

    failures: list[str] = []
    results: dict = {
        "benchmark": "membrane",
        "customers": n,
        "database": "postgresql",
        "postgresql_version": pg_version,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "cpu_busy_before_start": round(busy_at_start, 2),
        "postgresql_settings": pg_settings,
        "moment": moment.isoformat(),
        "rows": written,
        "generation_s": round(generation_seconds, 2),
        "vacuum_s": round(vacuum_seconds, 2),
    }

    log("phase 1: reference (bare count over the same joins)")
    reference_seconds, joined = phase_reference()
    log(f"  {reference_seconds:.2f}s, {joined:,} joined rows")

    log("phase 2: dry run")
    dry_seconds, dry = phase_dry_run(campaign, moment)
    dry_rate = n / dry_seconds
    log(f"  {dry_seconds:.2f}s, {dry_rate:,.0f} decisions/s")
    if dry["total"] != n:
        failures.append(f"dry run decided {dry['total']} customers, expected {n}")
    if args.profile:
        # Before the real run: its pending deliveries would make every later answer a duplicate.
        log(f"  profiling the dry run again into {args.profile}")
        profile_dry_run(campaign, moment, args.profile)

    log("phase 3: real run")
    run_seconds, run = phase_run(campaign, moment)
    run_rate = n / run_seconds
    log(f"  {run_seconds:.2f}s, {run_rate:,.0f} decisions/s")
    decisions = count(
        "SELECT count(*) FROM membrane_decision WHERE campaign_id = %s", [campaign.pk]
    )
    deliveries = count(
        "SELECT count(*) FROM membrane_delivery WHERE message_id = %s", [campaign.message_id]
    )
    blocked = run["outcomes"].get("block", 0)
    if decisions != n:
        failures.append(f"{decisions} decisions recorded, expected {n}")
    if deliveries != n - blocked:
        failures.append(f"{deliveries} deliveries recorded, expected {n - blocked} (not blocked)")
    if run["outcomes"] != dry["outcomes"]:
        failures.append(f"the run decided {run['outcomes']}, the dry run {dry['outcomes']}")

    log(f"phase 4: single decision API ({args.single_requests} requests)")
    latencies, single_outcomes = phase_single(
        secret, refs["single_message_id"], n, args.single_requests, args.seed
    )
    p50, p95, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.95, 0.99))
    log(f"  p50 {p50:.2f} ms, p99 {p99:.2f} ms")

    send_seconds = handed = emails = 0
    if args.send_slice:
        log(f"phase 5: sending a slice of {args.send_slice:,} email deliveries")
        send_seconds, handed, emails = phase_send(campaign, moment, args.send_slice)
        if emails != handed:
            failures.append(f"{handed} deliveries handed to a backend, {emails} emails in outbox")
    send_rate = handed / send_seconds if send_seconds else 0.0

    ratio = dry_seconds / reference_seconds
    results.update(
        {
            "reference_s": round(reference_seconds, 3),
            "reference_joined_rows": joined,
            "dry_run_s": round(dry_seconds, 3),
            "dry_run_per_s": round(dry_rate),
            "ratio": round(ratio, 2),
            "run_s": round(run_seconds, 3),
            "run_per_s": round(run_rate),
            "run_ratio": round(run_seconds / reference_seconds, 2),
            "outcomes": run["outcomes"],
            "decisions": decisions,
            "deliveries": deliveries,
            "single_requests": len(latencies),
            "single_p50_ms": round(p50, 2),
            "single_p95_ms": round(p95, 2),
            "single_p99_ms": round(p99, 2),
            "single_max_ms": round(max(latencies) * 1000, 2),
            "single_outcomes": single_outcomes,
            "send_slice": args.send_slice,
            "sent": handed,
            "send_s": round(send_seconds, 3),
            "send_per_s": round(send_rate),
            "target_decisions_per_s": TARGET_RATE,
            "target_single_p99_ms": TARGET_SINGLE_P99_MS,
            "dry_run_target_met": dry_rate >= TARGET_RATE,
            "run_target_met": run_rate >= TARGET_RATE,
            "single_target_met": p99 < TARGET_SINGLE_P99_MS,
            "ok": not failures,
        }
    )

    lines = [["phase", "customers", "seconds", "decisions/s", "vs reference", "target", "met"]]
    lines.append(
        ["bare count (reference)", f"{n:,}", f"{reference_seconds:.2f}", "", "1.00", "", ""]
    )
    for label, seconds, rate in (
        ("campaign dry run", dry_seconds, dry_rate),
        ("campaign run (recorded)", run_seconds, run_rate),
    ):
        lines.append(
            [
                label,
                f"{n:,}",
                f"{seconds:.2f}",
                f"{rate:,.0f}",
                f"{seconds / reference_seconds:.1f}",
                f">= {TARGET_RATE:,}/s",
                "yes" if rate >= TARGET_RATE else "NO",
            ]
        )
    print()
    print(
        f"Membrane benchmark: {n:,} customers, PostgreSQL {pg_version}, "
        f"{os.cpu_count()} CPUs, campaign moment {moment:%Y-%m-%d %H:%M} UTC"
    )
    print()
    print(table(lines))
    print()
    print(
        table(
            [
                ["single decision API", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "met"],
                [
                    "POST /api/decisions",
                    f"{len(latencies):,}",
                    f"{p50:.2f}",
                    f"{p95:.2f}",
                    f"{p99:.2f}",
                    f"{max(latencies) * 1000:.2f}",
                    "yes" if p99 < TARGET_SINGLE_P99_MS else f"NO (p99 >= {TARGET_SINGLE_P99_MS})",
                ],
            ]
        )
    )
    print()
    outcome_lines = [["outcome", "customers", "share"]]
    for outcome, total in sorted(run["outcomes"].items(), key=lambda item: -item[1]):
        outcome_lines.append([outcome, f"{total:,}", f"{total / n:.1%}"])
    print(table(outcome_lines))
    print()
    reason_lines = [["held or stopped by", "customers", "share"]]
    for reason, total in list(dry["reasons"].items())[:10]:
        reason_lines.append([reason, f"{total:,}", f"{total / n:.1%}"])
    print(table(reason_lines))
    print()
    channel_lines = [["outcome:channel", "customers"]]
    for key, total in sorted(dry["channels"].items(), key=lambda item: -item[1]):
        channel_lines.append([key, f"{total:,}"])
    print(table(channel_lines))
    print()
    print(f"recorded: {decisions:,} decisions, {deliveries:,} pending deliveries (not blocked)")
    print(f"single decisions: {single_outcomes}")
    if args.send_slice:
        print(
            f"sending: {handed:,} deliveries handed to the email backend in {send_seconds:.2f}s, "
            f"{send_rate:,.0f}/s (re-check under lock, render, locmem email, campaign recount)"
        )
    print(
        f"data generation (not timed): {generation_seconds:.1f}s, VACUUM ANALYZE "
        f"{vacuum_seconds:.1f}s; rows: " + ", ".join(f"{k} {v:,}" for k, v in written.items())
    )
    return report_end(pg_settings, busy_at_start, failures, results)


if __name__ == "__main__":
    sys.exit(main())
