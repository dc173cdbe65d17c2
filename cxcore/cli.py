"""The `cxcore` command for operators: demo, serve, worker, import, createadmin, seed, text."""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import subprocess
import sys
from pathlib import Path


def _django(debug: bool | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxcore.settings")
    if debug is not None:
        os.environ["DEBUG"] = "1" if debug else os.environ.get("DEBUG", "0")
    import django

    django.setup()


def _migrate() -> None:
    from django.conf import settings
    from django.core.management import call_command

    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)


DEMO_USERS = [
    ("admin", "admin"),
    ("manager", "manager"),
    ("agent", "agent"),
    ("analyst", "analyst"),
    ("marketer", "marketer"),
    ("auditor", "auditor"),
]


def cmd_demo(args) -> int:
    # The demo's campaigns send real messages: to files under var/ (mail/, sms/), not a screen.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    _django(debug=True)
    from django.contrib.auth.models import Group, User

    from cxcore.customers.models import Customer
    from cxcore.demo import demo_seed
    from cxcore.lib.progress import Progress

    _migrate()
    if args.reset or not Customer.objects.exists():
        progress = Progress("Demo data", total=60_000, unit="interactions")
        summary = demo_seed(seed=args.seed, progress=progress.update)
        progress.finish()
        print(
            f"Demo company ready: {summary['customers']:,} customers, "
            f"{summary['interactions']:,} interactions in {progress.elapsed:.1f}s."
        )
    for username, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(f"demo-{username}")
            user.is_staff = role == "admin"
            user.save()
        user.groups.add(Group.objects.get(name=role))
    url = f"http://{args.addr}:{args.port}/"
    print("\ncxcore demo console:", url)
    from django.conf import settings

    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        print(
            f"Emails sent by the demo go to {settings.EMAIL_FILE_PATH}/, "
            f"SMS to {settings.SMS_FILE_DIR}/."
        )
    print("Logins (user / password):")
    for username, _role in DEMO_USERS:
        print(f"  {username:<9} / demo-{username}")
    if args.no_serve:
        return 0
    print("Ctrl-C stops the server and the worker.\n", flush=True)
    # A plain `kill` must stop the worker too, not only Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    worker = subprocess.Popen([sys.executable, "-m", "cxcore.cli", "worker"])
    try:
        from django.core.management import call_command

        call_command("runserver", f"{args.addr}:{args.port}", use_reloader=False)
    finally:
        worker.terminate()
    return 0


def cmd_serve(args) -> int:
    _django()
    from django.core.management import call_command

    _migrate()
    call_command("collectstatic", interactive=False, verbosity=0)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.execv(  # noqa: S606 - replaces this process with gunicorn, no shell involved
        str(gunicorn),
        [
            str(gunicorn),
            "cxcore.wsgi",
            "--bind",
            args.bind,
            "--workers",
            str(args.workers),
            "--access-logformat",
            '%(h)s "%(r)s" %(s)s %(b)s %(L)ss',
        ],
    )
    return 0


def cmd_worker(args) -> int:
    _django()
    from django.core.management import call_command

    call_command("db_worker", queue_name="*", interval=args.interval, reload=False)
    return 0


def cmd_createadmin(args) -> int:
    _django()
    from django.contrib.auth.models import Group, User
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    _migrate()
    username = args.username or input("Username: ").strip()
    if User.objects.filter(username=username).exists():
        print(f"A user named {username!r} already exists.", file=sys.stderr)
        return 2
    if args.password_file:
        password = Path(args.password_file).read_text().strip()
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password again: "):
            print("The passwords differ.", file=sys.stderr)
            return 2
    user = User(username=username, email=args.email or "", is_staff=True)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        print("Password refused: " + " ".join(exc.messages), file=sys.stderr)
        return 2
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name="admin"))
    print(f"Administrator {username!r} created.")
    return 0


def cmd_import(args) -> int:
    _django()
    from cxcore.interactions.csv_import import (
        CsvFileError,
        csv_import,
        csv_layout,
        error_report_rows,
        mapping_guess,
    )
    from cxcore.lib.actor import Actor
    from cxcore.lib.csvsafe import csv_text
    from cxcore.lib.progress import Progress

    _migrate()
    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    try:
        with path.open("rb") as stream:
            layout = csv_layout(stream, args.encoding)
            mapping = mapping_guess(layout.headers)
            for pair in args.map or []:
                name, _sep, header = pair.partition("=")
                mapping[name.strip()] = header.strip()
            progress = Progress(f"Importing {path.name}", unit="rows")
            summary = csv_import(
                stream,
                layout=layout,
                mapping=mapping,
                actor=Actor(via="cli"),
                source=args.source,
                progress=progress.update,
            )
            progress.finish()
    except CsvFileError as exc:
        print(f"{path}: {exc} [{exc.code}]", file=sys.stderr)
        return 2
    print(
        f"{summary.total_rows:,} rows in {progress.elapsed:.1f}s "
        f"({summary.total_rows / progress.elapsed:,.0f} rows/s): "
        f"{summary.created:,} created, {summary.existing:,} already there, "
        f"{summary.error_count:,} rejected; {summary.customers_created:,} new customers, "
        f"{summary.identity_conflicts:,} identity conflicts to review."
    )
    if summary.error_count:
        report = Path(args.errors or f"{path.stem}-errors.csv")
        report.write_text(csv_text(error_report_rows(summary.errors)), encoding="utf-8")
        for error in summary.errors[:10]:
            print(f"  row {error['row']}, {error['field'] or '-'}: {error['message']}")
        print(f"Error report: {report}")
        return 1
    return 0


def cmd_seed(args) -> int:
    _django()
    from cxcore.demo import demo_seed
    from cxcore.lib.progress import Progress

    _migrate()
    progress = Progress("Seeding", total=args.interactions, unit="interactions")
    summary = demo_seed(
        seed=args.seed,
        customers=args.customers,
        interactions=args.interactions,
        progress=progress.update,
    )
    progress.finish()
    print(
        f"{summary['customers']:,} customers and {summary['interactions']:,} interactions "
        f"in {progress.elapsed:.1f}s."
    )
    return 0


def cmd_text_analyse(args) -> int:
    _django()
    from cxcore.lib.progress import Progress
    from cxcore.text.services import CsvTextError, csv_analyse

    _migrate()
    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    output = Path(args.output) if args.output else path.with_name(f"{path.stem}-analysed.csv")
    if output.resolve() == path.resolve():
        print(f"{output}: would overwrite the file being read; choose --output", file=sys.stderr)
        return 2
    # Written aside, then renamed: a refused file leaves no half-written output behind.
    partial = output.with_name(f".{output.name}.partial")
    progress = Progress(f"Analysing {path.name}", unit="texts")
    try:
        with (
            path.open(encoding="utf-8-sig", newline="") as source,
            partial.open("w", encoding="utf-8", newline="") as target,
        ):
            count = csv_analyse(source, target, column=args.column, progress=progress.update)
    except CsvTextError as exc:
        partial.unlink(missing_ok=True)
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    partial.replace(output)
    progress.finish()
    print(f"{count:,} texts analysed in {progress.elapsed:.1f}s; wrote {output}.")
    return 0


def cmd_text_train(args) -> int:
    from cxcore.text.train import main as train_main

    return train_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="load the demo company and serve the console locally")
    demo.add_argument("--addr", default="127.0.0.1")
    demo.add_argument("--port", default="8000")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--reset", action="store_true", help="generate the demo data again")
    demo.add_argument("--no-serve", action="store_true", help="load data and users, then stop")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="run the production server (gunicorn)")
    serve.add_argument("--bind", default=os.environ.get("CXCORE_BIND", "127.0.0.1:8000"))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 3)))
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run background tasks (imports, score refresh)")
    worker.add_argument("--interval", type=float, default=1.0)
    worker.set_defaults(func=cmd_worker)

    admin = sub.add_parser("createadmin", help="create an administrator account")
    admin.add_argument("--username")
    admin.add_argument("--email")
    admin.add_argument("--password-file", help="read the password from this file")
    admin.set_defaults(func=cmd_createadmin)

    imp = sub.add_parser("import", help="import data from a file")
    imp_sub = imp.add_subparsers(dest="what", required=True)
    inter = imp_sub.add_parser("interactions", help="interactions from a CSV file")
    inter.add_argument("file")
    inter.add_argument("--source", default="import", help="source system code for rows without one")
    inter.add_argument("--encoding", default="utf-8", help="utf-8 (default), cp1252 or latin-1")
    inter.add_argument(
        "--map",
        action="append",
        metavar="FIELD=COLUMN",
        help="map a column by hand, e.g. --map email=Courriel",
    )
    inter.add_argument("--errors", help="where to write the error report (CSV)")
    inter.set_defaults(func=cmd_import)

    text = sub.add_parser("text", help="text analysis: sentiment and topics, French and English")
    text_sub = text.add_subparsers(dest="what", required=True)
    analyse = text_sub.add_parser(
        "analyse",
        help="read the texts of a CSV file; write it again with language, sentiment, score "
        "and topics columns",
    )
    analyse.add_argument("file")
    analyse.add_argument("--column", default="text", help="the column holding the texts")
    analyse.add_argument("--output", help="where to write (default: FILE-analysed.csv)")
    analyse.set_defaults(func=cmd_text_analyse)
    train = text_sub.add_parser("train", help="train the shipped sentiment model from reviews")
    train.add_argument(
        "--data", default="../shared/data/reviews", metavar="DIR", help="reviews (CSV files)"
    )
    train.add_argument("--output", metavar="PATH", help="where to write the model (JSON)")
    train.add_argument("--version", help="the model's version (default: from the data)")
    train.set_defaults(func=cmd_text_train)

    seed = sub.add_parser("seed", help="generate synthetic data (benchmarks)")
    seed.add_argument("--customers", type=int, default=5000)
    seed.add_argument("--interactions", type=int, default=60000)
    seed.add_argument("--seed", type=int, default=42)
    seed.set_defaults(func=cmd_seed)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
