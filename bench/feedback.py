"""Feedback benchmark on PostgreSQL: answering a survey over HTTP, and its results at scale.

    .venv/bin/python bench/feedback.py                     # 1,000,000 responses, 30 s of load
    .venv/bin/python bench/feedback.py --responses 20000 --duration 5       # quick check
    .venv/bin/python bench/feedback.py --part http --clients 16             # only part 1

The bench database is dropped and created again at every run (its name must contain "bench").
Two open surveys with the same five questions (NPS; what went wrong, a multiple choice shown
to detractors only; CSAT; effort; a comment), asked after interactions at five touchpoints:
one is answered over HTTP in part 1, the other holds the responses of part 2.

Data, by COPY (timed apart, not part of the figures), then VACUUM ANALYZE: customers, an
interaction behind every invitation, the invitations part 1 answers, and for part 2
1,000,000 complete responses (plus 4 % left partial, and 1.2 invitations never answered per
response) spread over the last 12 months, 5 touchpoints and 4 answer channels, with about 3.4
answers each and an NPS mix that differs by touchpoint.

1. answer pages through the real HTTP stack: gunicorn (sync workers, as `cxcore serve` runs
   it) on loopback, and `--clients` threads in this process, each one customer's browser at a
   time on its connection: GET /s/<token>/ (the form), POST step 1 (the score),
   GET step 2 (its questions follow the score), POST it (the response is complete), GET the
   thank-you page. Steady load for `--duration` seconds after a warm-up. Reference: the same
   clients GETting the login page (a template, no database) of the same server, its ceiling.
   The complete responses in the database must equal the flows completed.
2. results of the survey with the 1,000,000 responses, in this process: `survey_results`
   unfiltered, for one touchpoint and for 3 months, and the staff page /surveys/<id>/results/
   through Django's test client logged in as an admin; `--runs` runs each after one warm-up.
   Reference: a bare `SELECT count(*)` of the survey's responses, and a bare GROUP BY nps.

The figures are reported, never asserted; the exit status is non-zero only when the data
written is wrong (responses that do not match the flows completed, results that do not count
the responses generated). The last line of the output is one JSON object with all the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

# Shared with the other benchmarks: database handling, checkpoints, percentiles, the table.
from ingest import (
    DEFAULT_URL,
    checkpoint,
    count,
    cpu_busy_fraction,
    django_on_fresh_database,
    log,
    percentile,
    reference_data_create,
    report_end,
    server_settings,
    server_start,
    server_stop,
    server_wait,
    table,
)
from membrane import CUSTOMER_COLUMNS, copy_rows, customer_rows, sequence_move, vacuum_analyze

REPO = Path(__file__).resolve().parent.parent
SOURCE = "bench"
REQUEST_TIMEOUT = 60.0
# (touchpoint code from the ingestion benchmark's reference data, share of the invitations)
TOUCHPOINTS = (
    ("web-order", 0.30),
    ("delivery", 0.30),
    ("store-paris", 0.15),
    ("after-sales", 0.15),
    ("phone-reception", 0.10),
)
# Shares of the NPS scores 0..10 (percent): 20 % detractors, 30 % passives, 50 % promoters
# (NPS +30), deliveries worse (NPS +4) and the store better (NPS +52).
NPS_SHARES = (3, 1, 1, 2, 2, 5, 6, 12, 18, 21, 29)
NPS_SHARES_BY_TOUCHPOINT = {
    "delivery": (7, 2, 2, 3, 4, 7, 8, 13, 17, 16, 21),
    "store-paris": (1, 0, 1, 1, 1, 3, 4, 10, 16, 25, 38),
}
# How the answers came back, and the invitation's channel (the same).
ANSWER_CHANNELS = (("web", 0.55), ("sms", 0.25), ("phone", 0.12), ("paper", 0.08))
INTERACTION_KINDS = {
    "web-order": ("web", "order"),
    "delivery": ("phone", "delivery"),
    "store-paris": ("store", "visit"),
    "after-sales": ("phone", "call"),
    "phone-reception": ("phone", "call"),
}
PARTIAL_SHARE = 0.04  # partial responses per complete one: left after the score
UNANSWERED_PER_RESPONSE = 1.2  # invitations never answered: a response rate of about 45 %
CSAT_ANSWERED = 0.97
CES_ANSWERED = 0.90
COMMENT_SHARE = {"detractor": 0.55, "passive": 0.30, "promoter": 0.25}
REASONS = (
    ("late", "En retard", "Late"),
    ("damaged", "Abîmé", "Damaged"),
    ("price", "Trop cher", "Too expensive"),
    ("staff", "L'accueil", "The staff"),
    ("waiting", "L'attente", "Waiting"),
    ("website", "Le site web", "The website"),
)
COMMENTS = (
    "Livraison rapide, rien à redire.",
    "Le colis est arrivé avec deux jours de retard et personne ne m'a prévenu.",
    "Très bon accueil en magasin, merci à Julie !",
    "J'ai attendu 25 minutes au téléphone avant d'avoir quelqu'un.",
    "Great service, the delivery man called before coming.",
    "The website kept logging me out during checkout.",
    "Prix corrects, mais le site est lent le soir.",
    "Remboursement toujours pas reçu après trois semaines…",
    "Nothing to add, everything was fine.",
    'Le livreur a laissé le colis chez le voisin "pour rendre service".',
)
SURVEY = {
    "kind": "relationship",
    "title_fr": "Votre avis compte",
    "title_en": "Your opinion matters",
    "intro_fr": "Une minute pour nous dire comment cela s'est passé.",
    "intro_en": "One minute to tell us how it went.",
    "thanks_fr": "Merci, nous lisons chaque réponse.",
    "thanks_en": "Thank you, we read every answer.",
    "questions": [
        {
            "key": "nps",
            "type": "nps",
            "text_fr": "Quelle est la probabilité que vous nous recommandiez à un proche ?",
            "text_en": "How likely are you to recommend us to a friend or colleague?",
            "required": True,
        },
        {
            "key": "reasons",
            "type": "multiple",
            "text_fr": "Qu'est-ce qui n'allait pas ?",
            "text_en": "What went wrong?",
            "choices": [{"value": v, "fr": fr, "en": en} for v, fr, en in REASONS],
            "show_if": {"question": "nps", "op": "lte", "value": 6},
        },
        {
            "key": "csat",
            "type": "csat",
            "text_fr": "Êtes-vous satisfait de ce contact ?",
            "text_en": "How satisfied are you with this contact?",
        },
        {
            "key": "ces",
            "type": "ces",
            "text_fr": "Était-ce facile ?",
            "text_en": "How easy was it?",
        },
        {
            "key": "comment",
            "type": "text",
            "text_fr": "Voulez-vous nous en dire plus ?",
            "text_en": "Anything else you would like to tell us?",
            "max_length": 2000,
        },
    ],
}
# Short codes, unique by construction: n -> n * STEP + OFFSET mod 30^10 is one-to-one, since
# STEP shares no factor with 30.
SHORT_CODE_STEP = 7**17
SHORT_CODE_OFFSET = 123_456_789_012


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--part", choices=("http", "results", "all"), default="all", help="what to run (all)"
    )
    parser.add_argument(
        "--responses", type=int, default=1_000_000, help="complete responses, part 2 (1,000,000)"
    )
    parser.add_argument(
        "--invitations", type=int, default=20_000, help="invitations to answer, part 1 (20,000)"
    )
    parser.add_argument("--clients", type=int, default=8, help="load client threads (8)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (30)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before that (3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per query, part 2 (20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (1)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL,
        help="PostgreSQL URL of the bench database, dropped and created again "
        "(default: $BENCH_DATABASE_URL or %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.responses < 100 or args.invitations < 1:
        parser.error("need --responses >= 100 and --invitations >= 1")
    if args.clients < 1 or args.workers < 1 or args.runs < 1:
        parser.error("need --clients, --workers and --runs >= 1")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("need --duration > 0 and --warmup >= 0")
    parts = urlsplit(args.database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        parser.error("--database-url must be a postgres:// URL")
    if "bench" not in parts.path:
        parser.error("the bench database is dropped at start: its name must contain 'bench'")
    args.http = args.part in ("http", "all")
    args.results = args.part in ("results", "all")
    return args


# --- reference data (through the services) ----------------------------------------------------


def surveys_create(touchpoints: dict[str, tuple]) -> dict:
    """The two open surveys, each with a trigger per touchpoint, and an admin to read results."""
    from django.contrib.auth.models import Group, User

    from cxcore.feedback import services
    from cxcore.lib.actor import Actor

    actor = Actor(via="bench")
    made = {}
    for part, name in (("http", "After a contact (answer pages)"), ("results", "After a contact")):
        survey = services.survey_create(actor=actor, data={**SURVEY, "name": name})
        survey = services.survey_open(actor=actor, survey=survey)
        triggers = {}
        for code, _share in TOUCHPOINTS:
            trigger = services.trigger_save(
                actor=actor,
                survey=survey,
                data={
                    "touchpoint": code,
                    "delay_minutes": 60,
                    "sampling_percent": 100,
                    "max_age_days": 7,
                },
            )
            triggers[code] = trigger.pk
        made[part] = survey
        made[f"{part}_triggers"] = triggers
    made["questions"] = {q.key: q.pk for q in made["results"].questions.all()}
    made["touchpoints"] = {code: touchpoints[code] for code, _share in TOUCHPOINTS}
    user = User.objects.create_user("bench-admin", password=None)
    user.groups.add(Group.objects.get(name="admin"))
    made["admin"] = user
    return made


# --- generated data (COPY) --------------------------------------------------------------------


def short_code(n: int) -> str:
    from cxcore.feedback.services import SHORT_CODE_ALPHABET, SHORT_CODE_LENGTH

    base = len(SHORT_CODE_ALPHABET)
    value = (n * SHORT_CODE_STEP + SHORT_CODE_OFFSET) % base**SHORT_CODE_LENGTH
    digits = []
    for _digit in range(SHORT_CODE_LENGTH):
        value, digit = divmod(value, base)
        digits.append(SHORT_CODE_ALPHABET[digit])
    return "".join(digits)


def nps_category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


class Plan:
    """Every invitation to write, one entry per array (arrays: a few bytes each, not objects).

    Invitations 0 .. n_results - 1 are the results survey's, in time order; the ones after are
    part 1's (sent in the last two days, not answered yet). Invitation i is about interaction
    i + 1 and has id i + 1; responses are numbered in invitation order.
    """

    def __init__(self, *, responses: int, http_invitations: int, seed: int, now: datetime):
        rng = random.Random(f"cxcore-bench-feedback:{seed}:plan")
        self.now = now
        partial = round(responses * PARTIAL_SHARE) if responses else 0
        unanswered = round(responses * UNANSWERED_PER_RESPONSE)
        self.n_results = responses + partial + unanswered
        self.n_http = http_invitations
        total = self.n_results + self.n_http
        self.customers = max(100, total // 8)
        # 0: never answered, 1: partial (the score only), 2: complete
        status = bytearray([2]) * responses + bytearray([1]) * partial
        status += bytearray(unanswered)
        rng.shuffle(status)
        self.status = status + bytearray(self.n_http)
        # Sent over 12 months, up to 3 days ago (answers come within 3 days): seconds before now.
        span = 362 * 86400
        ages = sorted(
            (rng.random() * span + 3 * 86400 for _i in range(self.n_results)), reverse=True
        )
        ages += [rng.uniform(3600, 2 * 86400) for _i in range(self.n_http)]
        self.age = array("d", ages)
        codes = [code for code, _share in TOUCHPOINTS]
        shares = [share for _code, share in TOUCHPOINTS]
        self.touchpoint = bytearray(codes.index(c) for c in rng.choices(codes, shares, k=total))
        channels = [c for c, _share in ANSWER_CHANNELS]
        channel_shares = [share for _c, share in ANSWER_CHANNELS]
        self.channel = bytearray(
            channels.index(c) for c in rng.choices(channels, channel_shares, k=self.n_results)
        ) + bytearray(self.n_http)  # part 1: "web", a link sent by email
        self.customer = array("l", (rng.randrange(1, self.customers + 1) for _i in range(total)))
        self.nps = bytearray(total)
        for i in range(self.n_results):
            if self.status[i]:
                weights = NPS_SHARES_BY_TOUCHPOINT.get(codes[self.touchpoint[i]], NPS_SHARES)
                self.nps[i] = rng.choices(range(11), weights)[0]

    def tallies(self) -> dict:
        """What survey_results must find: complete responses by NPS category and touchpoint."""
        codes = [code for code, _share in TOUCHPOINTS]
        found = {
            "complete": 0,
            "partial": 0,
            "invitations": self.n_results,
            "categories": Counter(),
            "complete_by_touchpoint": Counter(),
            "invitations_by_touchpoint": Counter(),
            "nps_answers": 0,
        }
        for i in range(self.n_results):
            code = codes[self.touchpoint[i]]
            found["invitations_by_touchpoint"][code] += 1
            if self.status[i] == 2:
                found["complete"] += 1
                found["complete_by_touchpoint"][code] += 1
                found["categories"][nps_category(self.nps[i])] += 1
            elif self.status[i] == 1:
                found["partial"] += 1
        found["nps_answers"] = found["complete"]
        return found


INVITATION_COLUMNS = (
    "id",
    "survey_id",
    "token",
    "short_code",
    "trigger_id",
    "kiosk_id",
    "decision_id",
    "blocked",
    "customer_id",
    "interaction_id",
    "language",
    "channel",
    "created_at",
    "expires_at",
)
RESPONSE_COLUMNS = (
    "id",
    "survey_id",
    "invitation_id",
    "customer_id",
    "interaction_id",
    "touchpoint_id",
    "team_id",
    "partner_id",
    "site_id",
    "channel",
    "language",
    "status",
    "nps",
    "nps_category",
    "started_at",
    "completed_at",
    "source",
    "external_id",
)
ANSWER_COLUMNS = ("response_id", "question_id", "number", "text", "choices", "flag")


def interaction_rows(plan: Plan, refs: dict):
    codes = [code for code, _share in TOUCHPOINTS]
    for i in range(len(plan.age)):
        code = codes[plan.touchpoint[i]]
        tp_id, team_id, partner_id, site_id = refs["touchpoints"][code]
        channel, kind = INTERACTION_KINDS[code]
        occurred = plan.now - timedelta(seconds=plan.age[i] + 3600)
        yield (
            i + 1,
            plan.customer[i],
            tp_id,
            channel,
            occurred,
            "inbound",
            kind,
            "",
            None,
            team_id,
            partner_id,
            site_id,
            "",
            SOURCE,
            f"feedback-{i + 1}",
            "{}",
            occurred,
        )


def invitation_rows(plan: Plan, refs: dict, languages: list[str], tokens: list[str]):
    """The invitations; part 1's tokens go to `tokens`, for the load clients."""
    codes = [code for code, _share in TOUCHPOINTS]
    channels = [c for c, _share in ANSWER_CHANNELS]
    surveys = (refs["results"].pk, refs["http"].pk)
    triggers = (refs["results_triggers"], refs["http_triggers"])
    for i in range(len(plan.age)):
        part = 0 if i < plan.n_results else 1
        created = plan.now - timedelta(seconds=plan.age[i])
        token = secrets.token_urlsafe(32)
        if part:
            tokens.append(token)
        customer = plan.customer[i]
        yield (
            i + 1,
            surveys[part],
            token,
            short_code(i),
            triggers[part][codes[plan.touchpoint[i]]],
            None,
            None,
            False,
            customer,
            i + 1,
            languages[customer - 1],
            channels[plan.channel[i]],
            created,
            created + timedelta(days=30),
        )


def response_rows(plan: Plan, refs: dict, languages: list[str], seed: int):
    """The results survey's responses: answered from 10 minutes to 3 days after the invitation."""
    rng = random.Random(f"cxcore-bench-feedback:{seed}:responses")
    codes = [code for code, _share in TOUCHPOINTS]
    channels = [c for c, _share in ANSWER_CHANNELS]
    survey_id = refs["results"].pk
    response_id = 0
    for i in range(plan.n_results):
        if not plan.status[i]:
            continue
        response_id += 1
        tp_id, team_id, partner_id, site_id = refs["touchpoints"][codes[plan.touchpoint[i]]]
        started = plan.now - timedelta(seconds=plan.age[i] - rng.uniform(600, 3 * 86400 - 3600))
        complete = plan.status[i] == 2
        score = plan.nps[i]
        customer = plan.customer[i]
        yield (
            response_id,
            survey_id,
            i + 1,
            customer,
            i + 1,
            tp_id,
            team_id,
            partner_id,
            site_id,
            channels[plan.channel[i]],
            languages[customer - 1],
            "complete" if complete else "partial",
            score,
            nps_category(score),
            started,
            started + timedelta(seconds=min(1800, rng.lognormvariate(4.6, 0.6)))
            if complete
            else None,
            "",
            "",
        )


def answer_rows(plan: Plan, refs: dict, seed: int):
    """The answers, as `response_submit` stores them: a partial response has its score only."""
    rng = random.Random(f"cxcore-bench-feedback:{seed}:answers")
    q = refs["questions"]
    reasons = [value for value, _fr, _en in REASONS]
    response_id = 0
    for i in range(plan.n_results):
        if not plan.status[i]:
            continue
        response_id += 1
        score = plan.nps[i]
        yield (response_id, q["nps"], score, "", "[]", None)
        if plan.status[i] != 2:
            continue
        category = nps_category(score)
        if category == "detractor" and rng.random() < 0.85:
            picked = rng.sample(reasons, rng.choice((1, 1, 1, 2, 2, 3)))
            yield (response_id, q["reasons"], None, "", json.dumps(picked), None)
        if rng.random() < CSAT_ANSWERED:
            csat = min(5, max(1, round(1 + score * 0.4 + rng.gauss(0, 0.7))))
            yield (response_id, q["csat"], csat, "", "[]", None)
        if rng.random() < CES_ANSWERED:
            ces = min(7, max(1, round(2 + score * 0.45 + rng.gauss(0, 1))))
            yield (response_id, q["ces"], ces, "", "[]", None)
        if rng.random() < COMMENT_SHARE[category]:
            text = COMMENTS[rng.randrange(len(COMMENTS))]
            yield (response_id, q["comment"], None, text, "[]", None)


def data_generate(plan: Plan, refs: dict, seed: int) -> tuple[dict[str, int], list[str]]:
    """Write everything by COPY; return the rows written per table and part 1's tokens."""
    from cxcore.interactions.services import INTERACTION_COLUMNS

    written: dict[str, int] = {}
    languages: list[str] = []
    tokens: list[str] = []
    rng = random.Random(f"cxcore-bench-feedback:{seed}:customers")
    tables = (
        (
            "customers",
            "customers_customer",
            CUSTOMER_COLUMNS,
            customer_rows(plan.customers, rng, plan.now - timedelta(days=400), languages),
        ),
        (
            "interactions",
            "interactions_interaction",
            ("id", *INTERACTION_COLUMNS),
            interaction_rows(plan, refs),
        ),
        (
            "invitations",
            "feedback_invitation",
            INVITATION_COLUMNS,
            invitation_rows(plan, refs, languages, tokens),
        ),
        (
            "responses",
            "feedback_response",
            RESPONSE_COLUMNS,
            response_rows(plan, refs, languages, seed),
        ),
        ("answers", "feedback_answer", ANSWER_COLUMNS, answer_rows(plan, refs, seed)),
    )
    for name, table_name, columns, rows in tables:  # in this order: each needs the ones before
        started = time.perf_counter()
        written[name] = copy_rows(table_name, columns, rows)
        if "id" in columns:
            sequence_move(table_name)
        log(f"  {name}: {written[name]:,} rows in {time.perf_counter() - started:.1f}s")
    return written, tokens


# --- part 1: the answer pages over HTTP -------------------------------------------------------

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
STEP_INPUT = re.compile(rb'name="step" value="(\d+)"')
KINDS = (
    "GET step 1",
    "POST step 1",
    "GET step 2",
    "POST step 2 (submit)",
    "GET thank-you",
)
REFERENCE_KIND = "GET /login/ (reference)"


class LoadOver(Exception):
    """The load's time is up: the client stops before sending another request."""


class ClientLog:
    """What one client thread saw: each request, the flows it completed, its problems."""

    def __init__(self):
        self.requests: list[tuple[str, float, float, int]] = []  # kind, ended, seconds, status
        self.completed: list[tuple[float, int, int]] = []  # ended, answers posted, score
        self.problems: Counter = Counter()
        self.examples: list[str] = []
        self.unexpected = 0  # 2xx/3xx where another answer was expected (a wrong page)

    def problem(self, key: str, detail: str) -> None:
        self.problems[key] += 1
        if len(self.examples) < 5:
            self.examples.append(detail)


class Browser:
    """One load client: a customer's browser on a kept connection, with its cookies."""

    def __init__(self, port: int, stop_at: float, client_log: ClientLog):
        self.origin = f"http://127.0.0.1:{port}"
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.stop_at = stop_at
        self.log = client_log

    def call(self, kind: str, path: str, expected: int, form: list | None = None):
        """Send one request; (Location, body) when answered `expected`, else None (logged).

        A sync gunicorn worker closes the connection after each answer; http.client then
        opens a new one for the next request, as a browser would.
        """
        if time.perf_counter() >= self.stop_at:
            raise LoadOver
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # A browser sends "null" from a page with `Referrer-Policy: no-referrer`, as the
            # survey pages are; a form with a CSRF token would be checked against the origin.
            with_csrf = any(name == "csrfmiddlewaretoken" for name, _value in form)
            headers["Origin"] = self.origin if with_csrf else "null"
        started = time.perf_counter()
        try:
            self.connection.request("POST" if form else "GET", path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            ended = time.perf_counter()
            self.connection.close()
            self.log.requests.append((kind, ended, ended - started, 0))
            self.log.problem(f"{kind}: {type(exc).__name__}", f"{kind} {path}: {exc!r}")
            return None
        ended = time.perf_counter()
        self.log.requests.append((kind, ended, ended - started, response.status))
        for value in response.headers.get_all("Set-Cookie") or ():
            name, _eq, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.status != expected:
            if response.status < 400:
                self.log.unexpected += 1
            self.log.problem(
                f"{kind}: HTTP {response.status}",
                f"{kind} {path}: HTTP {response.status}, expected {expected}: {payload[:200]!r}",
            )
            return None
        return response.getheader("Location") or "", payload


def form_fields(kind: str, page: bytes, client_log: ClientLog) -> list[tuple[str, str]] | None:
    """The step's hidden fields, posted back: its number, and a CSRF token if it has one."""
    csrf, step = CSRF_INPUT.search(page), STEP_INPUT.search(page)
    if step is None:
        client_log.unexpected += 1
        client_log.problem(f"{kind}: no form", f"{kind}: a page without the step's form")
        return None
    hidden = [("step", step.group(1).decode())]
    if csrf is not None:
        hidden.append(("csrfmiddlewaretoken", csrf.group(1).decode()))
    return hidden


def local_path(location: str) -> str:
    """The path and query of a redirection's Location (Django sends it relative)."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def survey_flow(browser: Browser, token: str, rng: random.Random) -> None:
    """A customer answers their invitation, as with a browser: every page, every step."""
    browser.cookies.clear()  # each invitation is another customer
    log_ = browser.log
    path = f"/s/{token}/"
    answer = browser.call(KINDS[0], path, 200)
    if answer is None or (fields := form_fields(KINDS[0], answer[1], log_)) is None:
        return
    score = rng.choices(range(11), NPS_SHARES)[0]
    form = [*fields, ("q_nps", str(score))]
    answer = browser.call(KINDS[1], path, 303, [*form, ("action", "next")])
    if answer is None:
        return
    answer = browser.call(KINDS[2], local_path(answer[0]), 200)
    if answer is None or (fields := form_fields(KINDS[2], answer[1], log_)) is None:
        return
    page = answer[1]
    asked_why = b'name="q_reasons"' in page
    if asked_why != (score <= 6):  # the branching: detractors only are asked what went wrong
        log_.unexpected += 1
        log_.problem("GET step 2: wrong questions", f"score {score}, reasons asked: {asked_why}")
        return
    form = list(fields)
    answers = 1
    if asked_why and rng.random() < 0.85:
        picked = rng.sample([v for v, _fr, _en in REASONS], rng.choice((1, 1, 2)))
        form += [("q_reasons", value) for value in picked]
        answers += 1
    if rng.random() < CSAT_ANSWERED:
        form.append(("q_csat", str(min(5, max(1, round(1 + score * 0.4 + rng.gauss(0, 0.7)))))))
        answers += 1
    if rng.random() < CES_ANSWERED:
        form.append(("q_ces", str(min(7, max(1, round(2 + score * 0.45 + rng.gauss(0, 1)))))))
        answers += 1
    if rng.random() < COMMENT_SHARE[nps_category(score)]:
        form.append(("q_comment", COMMENTS[rng.randrange(len(COMMENTS))]))
        answers += 1
    answer = browser.call(KINDS[3], path, 303, [*form, ("action", "next")])
    if answer is None:
        return
    location = local_path(answer[0])
    if not urlsplit(location).path.endswith("/thanks/"):
        log_.unexpected += 1
        log_.problem("POST step 2: not the thank-you", f"redirected to {answer[0]}")
        return
    log_.completed.append((time.perf_counter(), answers, score))
    browser.call(KINDS[4], location, 200)


def reference_flow(browser: Browser, _token, _rng) -> None:
    browser.call(REFERENCE_KIND, "/login/", 200)


def cpu_times() -> tuple[int, int] | None:
    """(all, idle + iowait) jiffies of the machine, to tell how busy the load kept it."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + fields[4]


def load_run(*, port, clients, warmup, duration, flow, tokens, seed) -> dict:
    """`clients` threads calling `flow` in a loop for warmup + duration seconds.

    Figures count the requests that ended in the measured window (after the warm-up); the
    flows in progress at the end are left where they are (a partial response, at most).
    """
    lock = threading.Lock()
    remaining = iter(tokens) if tokens is not None else None
    logs = [ClientLog() for _client in range(clients)]
    started = time.perf_counter()
    window_start = started + warmup
    stop_at = window_start + duration
    finished = [stop_at] * clients

    def client(n: int) -> None:
        rng = random.Random(f"cxcore-bench-feedback:{seed}:client:{n}")
        browser = Browser(port, stop_at, logs[n])
        try:
            while True:
                token = None
                if remaining is not None:
                    with lock:
                        token = next(remaining, None)
                    if token is None:  # every invitation answered: this client stops early
                        finished[n] = time.perf_counter()
                        return
                flow(browser, token, rng)
        except LoadOver:
            return
        finally:
            browser.connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, window_start - time.perf_counter()))
    cpu_start, process_start = cpu_times(), time.process_time()
    time.sleep(max(0.0, stop_at - time.perf_counter()))
    cpu_end, process_end = cpu_times(), time.process_time()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 5)
    window_end = min(stop_at, max(finished))
    seconds = max(window_end - window_start, 0.0)  # 0 when the invitations ran out in warm-up
    busy = None
    if cpu_start and cpu_end and cpu_end[0] > cpu_start[0]:
        busy = 1 - (cpu_end[1] - cpu_start[1]) / (cpu_end[0] - cpu_start[0])

    requests = [r for log_ in logs for r in log_.requests]
    in_window = [r for r in requests if window_start <= r[1] <= window_end]
    by_kind = {}
    for kind in sorted(
        {r[0] for r in requests}, key=lambda k: (KINDS + (REFERENCE_KIND,)).index(k)
    ):
        rows = [r for r in in_window if r[0] == kind]
        latencies = [r[2] for r in rows if 200 <= r[3] < 400]
        by_kind[kind] = {
            "requests": len(rows),
            "errors": sum(1 for r in rows if not 200 <= r[3] < 400),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
            "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "max_ms": round(max(latencies, default=0) * 1000, 2),
        }
    completed = [c for log_ in logs for c in log_.completed]
    completed_in_window = [c for c in completed if window_start <= c[0] <= window_end]
    problems: Counter = Counter()
    for log_ in logs:
        problems.update(log_.problems)
    all_latencies = [r[2] for r in in_window if 200 <= r[3] < 400]
    return {
        "clients": clients,
        "warmup_s": warmup,
        "seconds": round(seconds, 3),
        "ended_early": window_end < stop_at,
        "requests": len(in_window),
        "requests_per_s": round(len(in_window) / seconds, 1) if seconds else 0.0,
        "errors": sum(1 for r in in_window if not 200 <= r[3] < 400),
        "errors_all": sum(1 for r in requests if not 200 <= r[3] < 400),
        "unexpected_pages": sum(log_.unexpected for log_ in logs),
        "p50_ms": round(percentile(all_latencies, 0.50) * 1000, 2),
        "p95_ms": round(percentile(all_latencies, 0.95) * 1000, 2),
        "p99_ms": round(percentile(all_latencies, 0.99) * 1000, 2),
        "responses_completed": len(completed_in_window),
        "responses_per_s": round(len(completed_in_window) / seconds, 2) if seconds else 0.0,
        "responses_completed_all": len(completed),
        "answers_posted_all": sum(c[1] for c in completed),
        "score_sum_all": sum(c[2] for c in completed),
        "by_request": by_kind,
        "problems": dict(problems.most_common(10)),
        "problem_examples": [e for log_ in logs for e in log_.examples][:5],
        "machine_cpu_busy": None if busy is None else round(busy, 2),
        "load_generator_cpu_cores": round((process_end - process_start) / duration, 2),
    }


def phase_http(args, refs: dict, tokens: list[str], workdir: Path) -> tuple[dict, list[str]]:
    """Part 1: the reference load, then the survey load; checks the responses written."""
    from cxcore.feedback.models import Answer, Response

    server_log = workdir / "gunicorn.log"
    proc, port = server_start(
        args.database_url,
        args.workers,
        server_log,
        REQUEST_TIMEOUT,
        # No collectstatic here: plain static URLs, and WhiteNoise finds an (empty) folder.
        extra_env={"STATIC_MANIFEST": "0", "STATIC_ROOT": str(workdir / "static")},
    )
    try:
        server_wait(proc, port, "/login/")
        checkpoint()
        log(f"  reference: GET /login/, {args.clients} clients, {args.duration:g} s")
        reference = load_run(
            port=port,
            clients=args.clients,
            warmup=args.warmup,
            duration=args.duration,
            flow=reference_flow,
            tokens=None,
            seed=args.seed,
        )
        log(f"    {reference['requests_per_s']:,.0f} requests/s, p50 {reference['p50_ms']} ms")
        checkpoint()
        log(f"  survey answers: {args.clients} clients, {args.duration:g} s")
        survey = load_run(
            port=port,
            clients=args.clients,
            warmup=args.warmup,
            duration=args.duration,
            flow=survey_flow,
            tokens=tokens,
            seed=args.seed,
        )
        log(
            f"    {survey['responses_per_s']:,.1f} responses/s, {survey['requests_per_s']:,.0f} "
            f"requests/s, {survey['errors']} errors"
        )
    except Exception as exc:
        server_stop(proc)
        tail = server_log.read_text(errors="replace")[-3000:]
        log(f"HTTP part failed: {exc}\n--- gunicorn log (end) ---\n{tail}")
        raise
    finally:
        server_stop(proc)

    reference_p50 = reference["p50_ms"]
    for row in survey["by_request"].values():
        row["p50_vs_reference"] = round(row["p50_ms"] / reference_p50, 2) if reference_p50 else None

    failures = []
    complete = Response.objects.filter(survey=refs["http"], status=Response.Status.COMPLETE)
    in_database = complete.count()
    answers = Answer.objects.filter(response__in=complete).count()
    scores = sum(complete.values_list("nps", flat=True))
    if in_database != survey["responses_completed_all"]:
        failures.append(
            f"{in_database} complete responses in the database, "
            f"{survey['responses_completed_all']} flows completed"
        )
    if answers != survey["answers_posted_all"]:
        failures.append(
            f"{answers} answers of complete responses, {survey['answers_posted_all']} posted"
        )
    if scores != survey["score_sum_all"]:
        failures.append(f"the scores saved add up to {scores}, posted {survey['score_sum_all']}")
    if survey["ended_early"]:
        log(f"  NOTE: the {len(tokens):,} invitations were all used before the end")
    result = {
        "workers": args.workers,
        "invitations": len(tokens),
        "reference": reference,
        "survey": survey,
        "ratio_requests_per_s": round(survey["requests_per_s"] / reference["requests_per_s"], 3)
        if reference["requests_per_s"]
        else None,
        "check": {"complete_responses": in_database, "answers": answers, "score_sum": scores},
    }
    return result, failures


# --- part 2: the results ----------------------------------------------------------------------


def months_back(day: date, months: int) -> date:
    """The first day of the month `months` before the month of `day`."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def timed(fn, runs: int) -> tuple[list[float], int]:
    """Seconds of `runs` calls after one warm-up call, and the queries the warm-up made.

    Counted by a wrapper, not the query log: each request through the test client clears it.
    """
    from django.db import connection

    queries: list[str] = []

    def counted(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        fn()
    seconds = []
    for _run in range(runs):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return seconds, len(queries)


def phase_results(args, refs: dict, plan: Plan) -> tuple[dict, list[str]]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from cxcore.feedback import queries

    survey = queries.survey_get(refs["results"].pk)
    touchpoint_code = "delivery"
    touchpoint_id = refs["touchpoints"][touchpoint_code][0]
    zone = ZoneInfo(settings.TIME_ZONE)
    this_month = months_back(plan.now.astimezone(zone).date(), 0)
    date_from = months_back(this_month, 5)
    date_to = months_back(this_month, 2) - timedelta(days=1)  # three whole months
    client = Client()
    client.force_login(refs["admin"])
    url = reverse("feedback:results", args=[survey.pk])
    found: dict = {}
    pages: dict = {}

    def bare_count():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM feedback_response WHERE survey_id = %s", [survey.pk]
            )
            return cursor.fetchone()[0]

    def bare_group_by():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nps, count(*) FROM feedback_response WHERE survey_id = %s GROUP BY nps",
                [survey.pk],
            )
            return cursor.fetchall()

    def results(name, **filters):
        def run():
            found[name] = queries.survey_results(survey, **filters)

        return run

    def page(name, params):
        def run():
            response = client.get(url, params)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} {params}: HTTP {response.status_code}")
            pages[name] = len(response.content)

        return run

    cases = [
        ("count", "bare count(*) (reference)", bare_count),
        ("group_by", "bare GROUP BY nps (reference)", bare_group_by),
        ("results", "survey_results", results("results")),
        (
            "results_touchpoint",
            f"survey_results, touchpoint {touchpoint_code}",
            results("results_touchpoint", touchpoint_id=touchpoint_id),
        ),
        (
            "results_period",
            f"survey_results, {date_from:%Y-%m-%d}..{date_to:%Y-%m-%d}",
            results("results_period", date_from=date_from, date_to=date_to),
        ),
        ("page", "results page", page("page", {})),
        (
            "page_touchpoint",
            f"results page, touchpoint {touchpoint_code}",
            page("page_touchpoint", {"touchpoint": touchpoint_id}),
        ),
    ]
    checkpoint()
    timings = {}
    for key, label, fn in cases:
        log(f"  {label}: {args.runs} runs after one warm-up")
        seconds, query_count = timed(fn, args.runs)
        timings[key] = {
            "label": label,
            "runs": len(seconds),
            "p50_ms": round(percentile(seconds, 0.50) * 1000, 2),
            "p95_ms": round(percentile(seconds, 0.95) * 1000, 2),
            "max_ms": round(max(seconds) * 1000, 2),
            "queries": query_count,
        }
        log(f"    p50 {timings[key]['p50_ms']:,.1f} ms, {query_count} queries")
    for timing in timings.values():
        timing["vs_count"] = round(timing["p50_ms"] / timings["count"]["p50_ms"], 1)
        timing["vs_group_by"] = round(timing["p50_ms"] / timings["group_by"]["p50_ms"], 1)
    for key, size in pages.items():
        timings[key]["bytes"] = size

    # What the results must count, from the generated plan and, for the period, bare SQL.
    failures = []
    expected = plan.tallies()
    whole = found["results"]
    nps = whole["nps"]
    checks = {
        "complete": (whole["complete"], expected["complete"]),
        "partial": (whole["partial"], expected["partial"]),
        "invitations": (whole["invitations"], expected["invitations"]),
        "invitations_completed": (whole["invitations_completed"], expected["complete"]),
        "promoters": (nps["promoters"], expected["categories"]["promoter"]),
        "passives": (nps["passives"], expected["categories"]["passive"]),
        "detractors": (nps["detractors"], expected["categories"]["detractor"]),
        "nps_answers": (
            next(q["n"] for q in whole["questions"] if q["key"] == "nps"),
            expected["nps_answers"],
        ),
        "touchpoint_complete": (
            found["results_touchpoint"]["complete"],
            expected["complete_by_touchpoint"][touchpoint_code],
        ),
        "touchpoint_invitations": (
            found["results_touchpoint"]["invitations"],
            expected["invitations_by_touchpoint"][touchpoint_code],
        ),
        "period_complete": (
            found["results_period"]["complete"],
            count(
                "SELECT count(*) FROM feedback_response WHERE survey_id = %s "
                "AND status = 'complete' AND completed_at >= %s AND completed_at < %s",
                [
                    survey.pk,
                    datetime.combine(date_from, clock.min, tzinfo=zone),
                    datetime.combine(date_to + timedelta(days=1), clock.min, tzinfo=zone),
                ],
            ),
        ),
    }
    for name, (got, wanted) in checks.items():
        if got != wanted:
            failures.append(f"survey_results {name}: {got}, expected {wanted}")
    result = {
        "responses": whole["responses"],
        "complete": whole["complete"],
        "partial": whole["partial"],
        "invitations": whole["invitations"],
        "nps": round(nps["score"], 2) if nps["score"] is not None else None,
        "period": [date_from.isoformat(), date_to.isoformat()],
        "period_complete": found["results_period"]["complete"],
        "touchpoint": touchpoint_code,
        "touchpoint_complete": found["results_touchpoint"]["complete"],
        "timings": timings,
    }
    return result, failures


# --- report -----------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = tempfile.TemporaryDirectory(prefix="cxcore-bench-feedback-")
    (Path(workdir.name) / "static").mkdir()  # empty: WhiteNoise wants the folder to exist
    django_on_fresh_database(
        args.database_url,
        ALLOWED_HOSTS="testserver",  # Django's test client, part 2
        STATIC_MANIFEST="0",  # no collectstatic: plain static URLs on the pages
        STATIC_ROOT=str(Path(workdir.name) / "static"),
    )
    from django.utils import timezone

    refs = surveys_create(reference_data_create())
    pg_version = count("SHOW server_version_num")
    pg_settings = server_settings()
    busy_at_start = cpu_busy_fraction()

    now = timezone.now()
    plan = Plan(
        responses=args.responses if args.results else 0,
        http_invitations=args.invitations if args.http else 0,
        seed=args.seed,
        now=now,
    )
    log(
        f"generating (COPY): {plan.customers:,} customers, {len(plan.age):,} interactions "
        f"and invitations, {args.responses if args.results else 0:,} complete responses"
    )
    t0 = time.perf_counter()
    written, tokens = data_generate(plan, refs, args.seed)
    generation_seconds = time.perf_counter() - t0
    log(f"generated in {generation_seconds:.1f}s: {written}")
    t0 = time.perf_counter()
    vacuum_analyze()
    vacuum_seconds = time.perf_counter() - t0
    log(f"VACUUM ANALYZE in {vacuum_seconds:.1f}s")

    failures: list[str] = []
    results: dict = {
        "benchmark": "feedback",
        "part": args.part,
        "database": "postgresql",
        "postgresql_version": pg_version,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "cpu_busy_before_start": round(busy_at_start, 2),
        "postgresql_settings": pg_settings,
        "seed": args.seed,
        "rows": written,
        "generation_s": round(generation_seconds, 2),
        "vacuum_s": round(vacuum_seconds, 2),
    }

    if args.http:
        log(f"part 1: answer pages over HTTP ({args.workers} gunicorn workers)")
        results["http"], found = phase_http(args, refs, tokens, Path(workdir.name))
        failures += found
    if args.results:
        log(f"part 2: results of {args.responses:,} responses")
        results["results"], found = phase_results(args, refs, plan)
        failures += found
    results["ok"] = not failures
    workdir.cleanup()

    print()
    print(
        f"Feedback benchmark: PostgreSQL {pg_version}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    if args.http:
        report_http(results["http"])
    if args.results:
        report_results(results["results"])
    print()
    print(
        f"data generation (not timed): {generation_seconds:.1f}s, VACUUM ANALYZE "
        f"{vacuum_seconds:.1f}s; rows: " + ", ".join(f"{k} {v:,}" for k, v in written.items())
    )
    return report_end(pg_settings, busy_at_start, failures, results)


def report_http(http: dict) -> None:
    reference, survey = http["reference"], http["survey"]
    print()
    print(
        f"Part 1: answer pages over HTTP, gunicorn {http['workers']} sync workers, "
        f"{survey['clients']} clients, {survey['seconds']:g} s after {survey['warmup_s']:g} s "
        "of warm-up"
    )
    print()
    lines = [
        ["load", "requests/s", "responses/s", "p50 ms", "p95 ms", "p99 ms", "errors", "vs ref"]
    ]
    lines.append(
        [
            "GET /login/ (reference)",
            f"{reference['requests_per_s']:,.1f}",
            "",
            f"{reference['p50_ms']:.1f}",
            f"{reference['p95_ms']:.1f}",
            f"{reference['p99_ms']:.1f}",
            f"{reference['errors']:,}",
            "1.00",
        ]
    )
    lines.append(
        [
            "survey: 3 GETs, 2 POSTs",
            f"{survey['requests_per_s']:,.1f}",
            f"{survey['responses_per_s']:,.1f}",
            f"{survey['p50_ms']:.1f}",
            f"{survey['p95_ms']:.1f}",
            f"{survey['p99_ms']:.1f}",
            f"{survey['errors']:,}",
            f"{http['ratio_requests_per_s']:.2f}" if http["ratio_requests_per_s"] else "",
        ]
    )
    print(table(lines))
    print()
    lines = [
        ["request", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "p50 vs ref"]
    ]
    for kind, row in {**survey["by_request"], **reference["by_request"]}.items():
        ratio = row.get("p50_vs_reference", 1.0)
        lines.append(
            [
                kind,
                f"{row['requests']:,}",
                f"{row['p50_ms']:.1f}",
                f"{row['p95_ms']:.1f}",
                f"{row['p99_ms']:.1f}",
                f"{row['max_ms']:.1f}",
                f"{row['errors']:,}",
                "" if ratio is None else f"{ratio:.2f}",
            ]
        )
    print(table(lines))
    print()
    print(
        f"complete responses: {survey['responses_completed']:,} in the measured window, "
        f"{survey['responses_completed_all']:,} in all (warm-up included), "
        f"{http['check']['complete_responses']:,} in the database; "
        f"{http['invitations']:,} invitations ready"
        + (" (all used before the end)" if survey["ended_early"] else "")
    )
    print(
        f"CPU while loaded: machine {_share(survey['machine_cpu_busy'])} busy "
        f"(reference {_share(reference['machine_cpu_busy'])}); the load generator used "
        f"{survey['load_generator_cpu_cores']:.2f} core (reference "
        f"{reference['load_generator_cpu_cores']:.2f})"
    )
    if survey["problems"] or reference["problems"]:
        print(f"problems: {survey['problems'] or ''} {reference['problems'] or ''}".rstrip())
        for example in survey["problem_examples"] + reference["problem_examples"]:
            print(f"  e.g. {example}")


def _share(value) -> str:
    return "?" if value is None else f"{value:.0%}"


def report_results(found: dict) -> None:
    print()
    print(
        f"Part 2: results of one survey, {found['complete']:,} complete responses "
        f"({found['partial']:,} partial, {found['invitations']:,} invitations), NPS "
        f"{found['nps']}; {found['touchpoint']}: {found['touchpoint_complete']:,}, "
        f"{found['period'][0]}..{found['period'][1]}: {found['period_complete']:,}"
    )
    print()
    lines = [["in process", "runs", "p50 ms", "p95 ms", "vs count", "vs GROUP BY", "queries"]]
    for row in found["timings"].values():
        lines.append(
            [
                row["label"],
                f"{row['runs']}",
                f"{row['p50_ms']:,.1f}",
                f"{row['p95_ms']:,.1f}",
                f"{row['vs_count']:,.1f}",
                f"{row['vs_group_by']:,.1f}",
                f"{row['queries']}",
            ]
        )
    print(table(lines))


if __name__ == "__main__":
    sys.exit(main())
