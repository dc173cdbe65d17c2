"""Ingestion benchmark on PostgreSQL: CSV import and batch API against a bare COPY of the same rows.

    .venv/bin/python bench/ingest.py                 # 1,000,000 interactions, 200,000 customers
    .venv/bin/python bench/ingest.py --rows 20000 --customers 4000           # quick check

The bench database is dropped and created again at every run (its name must contain "bench").
Three timed phases, in one process, on the same generated rows:

1. reference: COPY of the rows, already resolved to ids, into `bench_bare`, a table with the
   columns of the interaction table and nothing else (no id, index, unique or foreign key);
2. CSV import: `csv_import` on a CSV file of the rows (parse, validate, resolve identities and
   create the customers, write), into the empty interaction table;
3. batch API: the same rows POSTed to /api/interactions/batch of a gunicorn server on loopback,
   as new interactions (other external ids) of the same customers.

Targets (issue): the CSV import reaches half the bare COPY rate, the batch API 20,000 rows/s.
The figures are reported, never asserted; the exit status is non-zero only when rows are wrong.
The last line of the output is one JSON object with all the figures.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cxcore_bench"
DUMMY_TASKS = "django_tasks.backends.dummy.DummyBackend"
CSV_TARGET_RATIO = 0.5
API_TARGET_RATE = 20_000
SOURCE = "bench"
CSV_HEADERS = [
    "external_id",
    "source",
    "occurred_at",
    "touchpoint",
    "channel",
    "direction",
    "kind",
    "outcome",
    "customer_external_id",
    "email",
    "phone",
    "note",
]
TEAMS = [("care", "Customer care"), ("sales", "Sales"), ("logistics", "Logistics")]
PARTNERS = [("fastship", "FastShip", "logistics"), ("paynow", "PayNow", "payment")]
SITES = [
    ("paris-01", "Paris Opéra", "store", "Paris"),
    ("lyon-01", "Lyon Part-Dieu", "store", "Lyon"),
    ("eshop", "E-shop", "eshop", ""),
    ("callcentre", "Call centre", "call_centre", "Lille"),
]
# code, kind, channels, team, partner, site
TOUCHPOINTS = [
    ("phone-reception", "phone_reception", ("phone",), "care", None, "callcentre"),
    ("web-order", "ordering", ("web", "app"), "sales", None, "eshop"),
    ("store-paris", "store", ("store", "in_person"), None, None, "paris-01"),
    ("store-lyon", "store", ("store", "in_person"), None, None, "lyon-01"),
    ("delivery", "delivery", ("phone", "sms", "email"), "logistics", "fastship", None),
    ("billing", "billing", ("email", "postal"), "care", None, None),
    ("payment", "payment", ("web", "app"), None, "paynow", None),
    ("after-sales", "after_sales", ("phone", "email", "chat"), "care", None, None),
    ("social", "social", ("social",), None, None, None),
]
KINDS = ("call", "order", "visit", "complaint", "question", "delivery", "payment")
OUTCOMES = ("resolved", "pending", "escalated", "callback", "")
NOTES = (
    "Asked about the order status",
    "Wants a refund, card charged twice",
    'Said "thanks, all good"',
    "Parcel left with the neighbour",
    "Changed the delivery address",
    "Question on the invoice; sent a copy",
    "",
    "Rappel demandé demain matin",
)
OFFSETS = (timezone(timedelta(hours=1)), timezone(timedelta(hours=2)), UTC)
TIME_BASE = datetime(2025, 1, 1, tzinfo=UTC)
TIME_SPAN_SECONDS = 660 * 86400  # up to late October 2026: never in the future


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="interactions (1,000,000)")
    parser.add_argument("--customers", type=int, default=200_000, help="customers (200,000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL,
        help="PostgreSQL URL of the bench database, dropped and created again "
        "(default: $BENCH_DATABASE_URL or %(default)s)",
    )
    parser.add_argument("--batch-size", type=int, default=10_000, help="API items per request")
    parser.add_argument("--clients", type=int, default=2, help="API client threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--request-timeout", type=float, default=300.0, help="seconds per API request (300)"
    )
    parser.add_argument(
        "--skip-csv",
        action="store_true",
        help="no CSV import phase (the API phase then creates the customers)",
    )
    parser.add_argument("--skip-api", action="store_true", help="no batch API phase")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.customers < 1 or args.customers > args.rows:
        parser.error("need 1 <= --customers <= --rows")
    if not 1 <= args.batch_size <= 10_000:
        parser.error("--batch-size is 1 to 10,000 (the API's limit)")
    parts = urlsplit(args.database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        parser.error("--database-url must be a postgres:// URL")
    if "bench" not in parts.path:
        parser.error("the bench database is dropped at start: its name must contain 'bench'")
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- database --------------------------------------------------------------------------------


def django_on_fresh_database(url: str, **environ: str) -> None:
    """Every benchmark's start: a bench database created again, Django set up on it with
    queued (never run) tasks and no DEBUG, migrated, roles in place. `environ` adds settings."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "cxcore.settings"
    os.environ["TASKS_BACKEND"] = DUMMY_TASKS  # what the bench queues is never run inline
    os.environ["DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ.update(environ)
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    database_recreate(url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from cxcore.console.roles import roles_sync

    assert settings.TASKS["default"]["BACKEND"] == DUMMY_TASKS
    log(f"database {settings.DATABASES['default']['NAME']} created; migrating")
    call_command("migrate", interactive=False, verbosity=0)
    roles_sync()


def database_recreate(url: str) -> None:
    import psycopg
    from psycopg import sql

    from cxcore.lib.env import parse_database_url

    config = parse_database_url(url, base_dir=REPO)
    params = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
        "connect_timeout": 10,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        name = sql.Identifier(config["NAME"])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def reference_data_create() -> dict[str, tuple]:
    """Teams, partners, sites and touchpoints; code -> (id, team_id, partner_id, site_id)."""
    from cxcore.interactions.models import Partner, Site, Team, Touchpoint

    teams = {code: Team.objects.create(code=code, name=name) for code, name in TEAMS}
    partners = {
        code: Partner.objects.create(code=code, name=name, kind=kind)
        for code, name, kind in PARTNERS
    }
    sites = {
        code: Site.objects.create(code=code, name=name, kind=kind, city=city)
        for code, name, kind, city in SITES
    }
    touchpoints = {}
    for code, kind, _channels, team, partner, site in TOUCHPOINTS:
        tp = Touchpoint.objects.create(
            code=code,
            name_en=code.replace("-", " ").capitalize(),
            name_fr=code.replace("-", " ").capitalize(),
            kind=kind,
            team=teams.get(team),
            partner=partners.get(partner),
            site=sites.get(site),
        )
        touchpoints[code] = (tp.pk, tp.team_id, tp.partner_id, tp.site_id)
    return touchpoints


def api_user_create() -> str:
    """A user in the admin role with a write token; return the bearer secret."""
    from django.contrib.auth.models import Group, User

    from cxcore.api.services import api_token_create
    from cxcore.lib.actor import Actor

    user = User.objects.create_user("bench-admin", password=None)
    user.groups.add(Group.objects.get(name="admin"))
    _token, secret = api_token_create(
        actor=Actor(user=user, via="bench"), name="bench", scope="write", days=1
    )
    return secret


def checkpoint() -> None:
    """Start every timed phase with the previous phase's dirty pages written out."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("CHECKPOINT")


def server_settings() -> dict[str, str]:
    """The server settings that weigh most on write throughput, to read the figures by."""
    from django.db import connection

    names = ("shared_buffers", "max_wal_size", "synchronous_commit", "fsync", "wal_level")
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, current_setting(n) FROM unnest(%s::text[]) AS n", [list(names)])
        return dict(cursor.fetchall())


def cpu_busy_fraction(seconds: float = 2.0) -> float:
    """How busy the CPUs are (other work, before the benchmark starts): 0 idle .. 1 saturated."""

    def sample():
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:
            return None
        values = [int(v) for v in fields]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] == first[0]:
        return 0.0
    return 1 - (second[1] - first[1]) / (second[0] - first[0])


def count(sql_text: str, params=()) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql_text, params)
        return cursor.fetchone()[0]


# --- generated rows --------------------------------------------------------------------------


def rows_generate(n_rows: int, n_customers: int) -> tuple[list[tuple], list[int]]:
    """The rows, as tuples in CSV_HEADERS order, and each row's customer number (0-based).

    Every customer has rows (n_rows // n_customers or one more), an external id, an email one
    time in two (its case varies from row to row) and a French mobile number one time in five.
    """
    rng = random.Random(1)
    customer_of = [i % n_customers for i in range(n_rows)]
    rng.shuffle(customer_of)
    rows = []
    for i, c in enumerate(customer_of):
        code, _kind, channels, *_rest = TOUCHPOINTS[rng.randrange(len(TOUCHPOINTS))]
        moment = TIME_BASE + timedelta(seconds=rng.randrange(TIME_SPAN_SECONDS))
        occurred_at = moment.astimezone(OFFSETS[rng.randrange(3)]).isoformat()
        email = ""
        if c % 2 == 0:
            email = f"client.{c}@example.fr" if rng.random() < 0.8 else f"Client.{c}@Example.FR"
        phone = ""
        if c % 5 == 0:
            digits = f"{c:08d}"
            phone = f"06 {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}"
        rows.append(
            (
                f"I{i:08d}",
                SOURCE,
                occurred_at,
                code,
                channels[rng.randrange(len(channels))],
                "outbound" if rng.random() < 0.2 else "inbound",
                KINDS[rng.randrange(len(KINDS))],
                OUTCOMES[rng.randrange(len(OUTCOMES))],
                f"K{c:07d}",
                email,
                phone,
                NOTES[rng.randrange(len(NOTES))],
            )
        )
    return rows, customer_of


def csv_write(path: Path, rows: list[tuple]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(CSV_HEADERS)
        writer.writerows(rows)


def bare_rows(rows, customer_of, touchpoints) -> list[tuple]:
    """The rows as the interaction table stores them (resolved ids, parsed times, JSON text)."""
    now = datetime.now(UTC)
    out = []
    for row, c in zip(rows, customer_of, strict=True):
        (external_id, source, occurred_at, tp, channel, direction, kind, outcome, *_id, note) = row
        tp_id, team_id, partner_id, site_id = touchpoints[tp]
        out.append(
            (
                c + 1,
                tp_id,
                channel,
                datetime.fromisoformat(occurred_at),
                direction,
                kind,
                outcome,
                None,
                team_id,
                partner_id,
                site_id,
                note,
                source,
                external_id,
                "{}",
                now,
            )
        )
    return out


def api_item(row: tuple) -> dict:
    item = dict(zip(CSV_HEADERS, row, strict=True))
    # New interactions (the same source with other ids) of the same customers: the customer's
    # external id is an identity within its source system, so the source stays the same.
    item["external_id"] = "api-" + item["external_id"]
    for name in ("email", "phone", "outcome", "note"):
        if not item[name]:
            del item[name]
    return item


# --- phases ----------------------------------------------------------------------------------


def phase_copy(rows: list[tuple]) -> float:
    from django.db import connection, transaction

    from cxcore.interactions.models import Interaction
    from cxcore.interactions.services import INTERACTION_COLUMNS

    table = Interaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare")
        # Same columns, types and NOT NULLs as the interaction table; no id, index or key.
        cursor.execute(f"CREATE TABLE bench_bare (LIKE {table})")
        cursor.execute("ALTER TABLE bench_bare DROP COLUMN id")
    columns = ", ".join(INTERACTION_COLUMNS)
    checkpoint()
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY bench_bare ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    seconds = time.perf_counter() - started
    written = count("SELECT count(*) FROM bench_bare")
    if written != len(rows):
        raise SystemExit(f"bare COPY wrote {written} rows, expected {len(rows)}")
    return seconds


def phase_csv(path: Path, n_rows: int) -> tuple[float, dict]:
    from cxcore.interactions.csv_import import csv_import, csv_layout, mapping_guess
    from cxcore.lib.actor import Actor

    checkpoint()
    started = time.perf_counter()
    last = [started]

    def progress(done: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 15:
            last[0] = now
            log(f"  CSV {done:,}/{n_rows:,} rows, {done / (now - started):,.0f} rows/s")

    with path.open("rb") as stream:
        layout = csv_layout(stream)
        mapping = mapping_guess(layout.headers)
        summary = csv_import(
            stream,
            layout=layout,
            mapping=mapping,
            actor=Actor(via="bench"),
            source=SOURCE,
            progress=progress,
        )
    seconds = time.perf_counter() - started
    result = {
        "total_rows": summary.total_rows,
        "created": summary.created,
        "existing": summary.existing,
        "customers_created": summary.customers_created,
        "identity_conflicts": summary.identity_conflicts,
        "errors": summary.error_count,
        "first_errors": summary.errors[:5],
        "mapping": mapping,
    }
    return seconds, result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(
    url: str, workers: int, log_path: Path, request_timeout: float, extra_env: dict | None = None
):
    """gunicorn as `cxcore serve` runs it (sync workers), on a free loopback port."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "cxcore.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "TASKS_BACKEND": DUMMY_TASKS,
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "cxcore.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        str(int(request_timeout) + 30),
        "--graceful-timeout",
        "10",
    ]
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    return proc, port


def server_wait(
    proc, port: int, path: str, headers: dict | None = None, deadline_seconds: float = 60
) -> None:
    """Returns once GET `path` answers 200; raises if gunicorn dies or stays silent."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return
            raise RuntimeError(f"GET {path} answered {response.status}")
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {deadline_seconds:.0f} s")


def server_stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else 0.0


def api_bodies(rows: list[tuple], batch_size: int) -> list[tuple[int, int, bytes]]:
    """The request bodies, encoded before the clock starts: (first row, items, JSON)."""
    bodies = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        body = json.dumps({"items": [api_item(row) for row in batch]}).encode()
        bodies.append((start, len(batch), body))
    return bodies


def phase_api(bodies, *, port, secret, clients, timeout) -> tuple[float, dict]:
    lock = threading.Lock()
    state = {"next": 0, "failure": None, "created": 0, "existing": 0, "errors": 0}
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def client() -> None:
        while True:
            with lock:
                if state["failure"] or state["next"] >= len(bodies):
                    return
                start, size, body = bodies[state["next"]]
                state["next"] += 1
            try:
                t0 = time.perf_counter()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                try:
                    conn.request("POST", "/api/interactions/batch", body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                finally:
                    conn.close()
                latency = time.perf_counter() - t0
                if response.status != 200:
                    raise RuntimeError(
                        f"batch at row {start}: HTTP {response.status}: {payload[:500]!r}"
                    )
                answer = json.loads(payload)
                if answer["errors"] or answer["created"] != size:
                    firsts = [r for r in answer["results"] if r["status"] != "created"][:3]
                    raise RuntimeError(
                        f"batch at row {start}: created {answer['created']}, existing "
                        f"{answer['existing']}, errors {answer['errors']}: {firsts}"
                    )
                with lock:
                    latencies.append(latency)
                    for name in ("created", "existing", "errors"):
                        state[name] += answer[name]
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                with lock:
                    state["failure"] = state["failure"] or f"{type(exc).__name__}: {exc}"
                return

    checkpoint()
    started = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    last_report = started
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=1)
        if time.perf_counter() - last_report >= 15:
            last_report = time.perf_counter()
            with lock:
                done = len(latencies)
            log(f"  API {done}/{len(bodies)} batches")
    seconds = time.perf_counter() - started
    if state["failure"]:
        raise RuntimeError(state["failure"])
    return seconds, {
        "requests": len(latencies),
        "created": state["created"],
        "existing": state["existing"],
        "errors": state["errors"],
        "latency_p50_s": round(percentile(latencies, 0.50), 4),
        "latency_p95_s": round(percentile(latencies, 0.95), 4),
        "latency_max_s": round(max(latencies), 4),
    }


# --- report ----------------------------------------------------------------------------------


def table(lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for n, line in enumerate(lines):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    django_on_fresh_database(args.database_url)  # score refreshes are queued, never run
    touchpoints = reference_data_create()
    secret = api_user_create()
    pg_version = count("SHOW server_version_num")
    pg_settings = server_settings()
    busy_at_start = cpu_busy_fraction()

    log(f"generating {args.rows:,} rows for {args.customers:,} customers")
    t0 = time.perf_counter()
    rows, customer_of = rows_generate(args.rows, args.customers)
    bare = bare_rows(rows, customer_of, touchpoints)
    workdir = tempfile.TemporaryDirectory(prefix="cxcore-bench-")
    csv_path = Path(workdir.name) / "interactions.csv"
    csv_write(csv_path, rows)
    generation_seconds = time.perf_counter() - t0
    log(f"generated in {generation_seconds:.1f}s; CSV {csv_path.stat().st_size / 1e6:.0f} MB")

    results: dict = {
        "benchmark": "ingest",
        "rows": args.rows,
        "customers": args.customers,
        "database": "postgresql",
        "postgresql_version": pg_version,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu_busy_before_start": round(busy_at_start, 2),
        "postgresql_settings": pg_settings,
        "generation_s": round(generation_seconds, 2),
    }
    failures: list[str] = []

    log("phase 1: bare COPY")
    copy_seconds = phase_copy(bare)
    del bare
    copy_rate = args.rows / copy_seconds
    results["copy"] = {"seconds": round(copy_seconds, 3), "rows_per_s": round(copy_rate)}
    log(f"  {copy_seconds:.1f}s, {copy_rate:,.0f} rows/s")

    interactions_expected = 0
    if not args.skip_csv:
        log("phase 2: CSV import")
        csv_seconds, summary = phase_csv(csv_path, args.rows)
        csv_rate = args.rows / csv_seconds
        interactions_expected += args.rows
        results["csv"] = {
            "seconds": round(csv_seconds, 3),
            "rows_per_s": round(csv_rate),
            "ratio_to_copy": round(csv_rate / copy_rate, 3),
            "target_ratio_to_copy": CSV_TARGET_RATIO,
            "target_met": csv_rate / copy_rate >= CSV_TARGET_RATIO,
            "created": summary["created"],
            "customers_created": summary["customers_created"],
            "identity_conflicts": summary["identity_conflicts"],
            "errors": summary["errors"],
        }
        log(f"  {csv_seconds:.1f}s, {csv_rate:,.0f} rows/s")
        if summary["errors"] or summary["created"] != args.rows:
            failures.append(
                f"CSV import: {summary['created']} created, {summary['errors']} errors "
                f"{summary['first_errors']}"
            )
        if summary["customers_created"] != args.customers:
            failures.append(
                f"CSV import created {summary['customers_created']} customers, "
                f"expected {args.customers}"
            )

    if not args.skip_api:
        log(f"phase 3: batch API ({args.workers} gunicorn workers, {args.clients} clients)")
        bodies = api_bodies(rows, args.batch_size)
        server_log = Path(workdir.name) / "gunicorn.log"
        proc, port = server_start(args.database_url, args.workers, server_log, args.request_timeout)
        try:
            server_wait(proc, port, "/api/touchpoints", {"Authorization": f"Bearer {secret}"})
            api_seconds, api = phase_api(
                bodies,
                port=port,
                secret=secret,
                clients=args.clients,
                timeout=args.request_timeout,
            )
        except Exception as exc:
            server_stop(proc)
            tail = server_log.read_text(errors="replace")[-3000:]
            log(f"API phase failed: {exc}\n--- gunicorn log (end) ---\n{tail}")
            raise
        finally:
            server_stop(proc)
        del bodies
        api_rate = args.rows / api_seconds
        interactions_expected += args.rows
        results["api"] = {
            "seconds": round(api_seconds, 3),
            "rows_per_s": round(api_rate),
            "ratio_to_copy": round(api_rate / copy_rate, 3),
            "target_rows_per_s": API_TARGET_RATE,
            "target_met": api_rate >= API_TARGET_RATE,
            "batch_size": args.batch_size,
            "clients": args.clients,
            "workers": args.workers,
            **api,
        }
        log(f"  {api_seconds:.1f}s, {api_rate:,.0f} rows/s")

    interactions = count("SELECT count(*) FROM interactions_interaction")
    customers = count("SELECT count(*) FROM customers_customer")
    results["check"] = {"interactions": interactions, "customers": customers}
    if interactions != interactions_expected:
        failures.append(
            f"{interactions} interactions in the table, expected {interactions_expected}"
        )
    if customers != args.customers and (not args.skip_csv or not args.skip_api):
        failures.append(f"{customers} customers in the table, expected {args.customers}")
    results["ok"] = not failures
    workdir.cleanup()

    lines = [["path", "rows", "seconds", "rows/s", "vs COPY", "target", "met"]]
    lines.append(
        [
            "bare COPY (reference)",
            f"{args.rows:,}",
            f"{copy_seconds:.1f}",
            f"{copy_rate:,.0f}",
            "1.00",
            "",
            "",
        ]
    )
    if "csv" in results:
        r = results["csv"]
        lines.append(
            [
                "CSV import",
                f"{args.rows:,}",
                f"{r['seconds']:.1f}",
                f"{r['rows_per_s']:,}",
                f"{r['ratio_to_copy']:.2f}",
                f">= {CSV_TARGET_RATIO:.2f} x COPY",
                "yes" if r["target_met"] else "NO",
            ]
        )
    if "api" in results:
        r = results["api"]
        lines.append(
            [
                "batch API",
                f"{args.rows:,}",
                f"{r['seconds']:.1f}",
                f"{r['rows_per_s']:,}",
                f"{r['ratio_to_copy']:.2f}",
                f">= {API_TARGET_RATE:,}/s",
                "yes" if r["target_met"] else "NO",
            ]
        )
    print()
    print(
        f"Ingestion benchmark: {args.rows:,} interactions, {args.customers:,} customers, "
        f"PostgreSQL {pg_version}, {os.cpu_count()} CPUs"
    )
    print()
    print(table(lines))
    print()
    if "api" in results:
        r = results["api"]
        print(
            f"batch API: {r['requests']} requests of up to {args.batch_size:,} items, "
            f"{args.clients} clients, {args.workers} gunicorn workers; latency p50 "
            f"{r['latency_p50_s']:.2f}s, p95 {r['latency_p95_s']:.2f}s, "
            f"max {r['latency_max_s']:.2f}s"
        )
    if "csv" in results:
        r = results["csv"]
        print(
            f"CSV import: {r['created']:,} created, {r['customers_created']:,} customers created, "
            f"{r['errors']} errors"
        )
    print(f"row generation (not timed): {generation_seconds:.1f}s")
    return report_end(pg_settings, busy_at_start, failures, results)


def report_end(pg_settings: dict, busy_at_start: float, failures: list, results: dict) -> int:
    """The common end of a benchmark's report: settings, warnings, and the JSON line last."""
    print("PostgreSQL: " + ", ".join(f"{k}={v}" for k, v in pg_settings.items()))
    if busy_at_start > 0.2:
        print(
            f"NOTE: other work kept the CPUs {busy_at_start:.0%} busy just before the run: "
            "the figures are not reliable"
        )
    for failure in failures:
        print(f"WRONG: {failure}")
    print(json.dumps(results, sort_keys=False))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
