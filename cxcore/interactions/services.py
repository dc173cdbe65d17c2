"""Every write to the interaction log: set-based ingestion, CSV imports, reassignment."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxcore.customers.services import audit_record, customers_resolve
from cxcore.db import insert_rows, select_where_in
from cxcore.interactions.ingest import (
    FieldError,
    References,
    RowValidator,
    ValidRow,
    live_customer_ids,
)
from cxcore.interactions.models import ImportJob, Interaction
from cxcore.interactions.signals import interactions_recorded
from cxcore.lib.actor import Actor

log = logging.getLogger(__name__)

CHUNK_SIZE = 5000
INTERACTION_COLUMNS = (
    "customer_id",
    "touchpoint_id",
    "channel",
    "occurred_at",
    "direction",
    "kind",
    "outcome",
    "employee_id",
    "team_id",
    "partner_id",
    "site_id",
    "note",
    "source",
    "external_id",
    "metadata",
    "created_at",
)


@dataclass
class WriteResult:
    status: str  # created, existing, error
    interaction_id: int | None = None
    customer_id: int | None = None
    customer_created: bool = False
    identity_conflict: bool = False
    errors: list[FieldError] = field(default_factory=list)


def interactions_ingest(
    rows: Sequence[ValidRow], *, actor: Actor, refresh_scores: bool = True
) -> list[WriteResult]:
    """Write validated rows; return one result per row, in order.

    Each chunk is one transaction: a crash leaves whole chunks or nothing, and a re-run skips
    what is already there (same source and external id), so imports can simply be restarted.
    If a chunk trips over a concurrent writer, it is retried once, then item by item, so one
    troublesome item never takes its neighbours down with it.
    """
    results: list[WriteResult] = []
    touched: set[int] = set()
    for start in range(0, len(rows), CHUNK_SIZE):
        chunk = rows[start : start + CHUNK_SIZE]
        results.extend(_ingest_chunk_safely(chunk, actor=actor))
    for result in results:
        if result.status == "created":
            touched.add(result.customer_id)
    created = [r.interaction_id for r in results if r.status == "created"]
    if created:
        # After commit: areas above (survey triggers) follow new interactions without this
        # area knowing them; a rolled-back write announces nothing.
        transaction.on_commit(
            lambda: interactions_recorded.send(sender=Interaction, interaction_ids=created)
        )
    if touched and refresh_scores:
        from cxcore.customers.tasks import refresh_customer_scores

        ids = sorted(touched)
        transaction.on_commit(lambda: refresh_customer_scores.enqueue(customer_ids=ids))
    return results


def _ingest_chunk_safely(chunk: Sequence[ValidRow], *, actor: Actor) -> list[WriteResult]:
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return _ingest_chunk(chunk, actor=actor)
        except IntegrityError:
            log.info("ingest chunk of %d rows hit a concurrent write; retrying", len(chunk))
    results = []
    for row in chunk:
        try:
            with transaction.atomic():
                results.extend(_ingest_chunk([row], actor=actor))
        except IntegrityError as exc:
            results.append(
                WriteResult(
                    status="error",
                    errors=[FieldError("", "conflict", _("Could not be written: %s") % exc)],
                )
            )
    return results


def _ingest_chunk(chunk: Sequence[ValidRow], *, actor: Actor) -> list[WriteResult]:
    existing = _existing_interactions(chunk)
    results: list[WriteResult | None] = [None] * len(chunk)
    fresh: list[tuple[int, ValidRow]] = []
    for position, row in enumerate(chunk):
        found = existing.get((row.source, row.external_id))
        if found is not None:
            results[position] = WriteResult(
                status="existing", interaction_id=found[0], customer_id=found[1]
            )
        else:
            fresh.append((position, row))

    named = {row.customer_id for _p, row in fresh if row.customer_id}
    live = live_customer_ids(named) if named else {}
    claimable = []
    for position, row in fresh:
        if row.customer_id:
            if row.customer_id not in live:
                results[position] = WriteResult(
                    status="error",
                    errors=[
                        FieldError(
                            "customer",
                            "unknown_customer",
                            _("No customer has the reference %s.") % row.customer_id,
                        )
                    ],
                )
                continue
            row.claim.customer_id = live[row.customer_id]
        claimable.append((position, row))

    resolutions = customers_resolve(
        [row.claim for _p, row in claimable], actor=actor, source=actor.via
    )
    now = timezone.now()
    table_rows = []
    for (_position, row), resolution in zip(claimable, resolutions, strict=True):
        values = row.values
        table_rows.append(
            (
                resolution.customer_id,
                values["touchpoint_id"],
                values["channel"],
                values["occurred_at"],
                values["direction"],
                values["kind"],
                values["outcome"],
                values["employee_id"],
                values["team_id"],
                values["partner_id"],
                values["site_id"],
                values["note"],
                row.source,
                row.external_id,
                values["metadata"],
                now,
            )
        )
    ids = insert_rows(Interaction, INTERACTION_COLUMNS, table_rows)
    for (position, _row), resolution, new_id in zip(claimable, resolutions, ids, strict=True):
        results[position] = WriteResult(
            status="created",
            interaction_id=new_id,
            customer_id=resolution.customer_id,
            customer_created=resolution.created,
            identity_conflict=bool(resolution.conflicts),
        )
    return results  # type: ignore[return-value]


def _existing_interactions(chunk: Iterable[ValidRow]) -> dict[tuple[str, str], tuple[int, int]]:
    by_source: dict[str, list[str]] = {}
    for row in chunk:
        by_source.setdefault(row.source, []).append(row.external_id)
    found = {}
    for source, external_ids in by_source.items():
        for pk, customer_id, external_id in select_where_in(
            Interaction,
            ["id", "customer_id", "external_id"],
            equals={"source": source},
            column="external_id",
            values=external_ids,
        ):
            found[(source, external_id)] = (pk, customer_id)
    return found


def interaction_record(*, actor: Actor, customer, **fields) -> Interaction:
    """One interaction written down by a person (an agent on the phone, store staff).

    It goes through the same validation and write as every import; `fields` are ingestion
    fields (touchpoint code, channel, occurred_at…). Raises ValidationError naming the fields.
    """
    raw = {
        **fields,
        "customer": str(customer.pk),
        "source": "console",
        "external_id": f"console-{uuid.uuid4().hex}",
    }
    row, errors = RowValidator(References.load(), default_source="console").validate(raw)
    if not errors:
        [result] = interactions_ingest([row], actor=actor)
        errors = result.errors
    if errors:
        raise ValidationError({e.field or "__all__": e.message for e in errors})
    return Interaction.objects.get(pk=result.interaction_id)


def interactions_reassign(*, from_customer, to_customer) -> int:
    """Move every interaction of one customer to another (used by customer_merge)."""
    return Interaction.objects.filter(customer=from_customer).update(customer=to_customer)


# --- CSV imports ---------------------------------------------------------------------------------
# csv_import and tasks import this module, hence the imports inside the functions below.


def import_job_create(*, actor: Actor, upload, encoding: str, source: str):
    """Keep an uploaded file after checking that it is a readable CSV; guess its column mapping."""
    from django.conf import settings

    from cxcore.interactions.csv_import import CsvFileError, csv_layout, mapping_guess

    if upload.size > settings.IMPORT_MAX_FILE_BYTES:
        raise CsvFileError(
            "file_too_large",
            _("The file is larger than %d MB; split it or use the `cxcore import` command.")
            % (settings.IMPORT_MAX_FILE_BYTES // 1_000_000),
        )
    layout = csv_layout(upload.file, encoding)
    job = ImportJob(
        original_name=upload.name[:255],
        encoding=layout.encoding,
        source=source,
        mapping=mapping_guess(layout.headers),
        created_by=actor.user,
    )
    job.file.save(upload.name, upload, save=False)
    job.save()
    return job, layout


def import_job_start(*, actor: Actor, job, mapping: dict[str, str]) -> None:
    from cxcore.interactions.csv_import import CsvFileError, csv_layout, mapping_check
    from cxcore.interactions.tasks import run_import

    with job.file.open("rb") as stream:
        layout = csv_layout(stream, job.encoding)
    problems = mapping_check(mapping, layout.headers)
    if problems:
        raise CsvFileError("bad_mapping", " ".join(problems))
    job.mapping = mapping
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["mapping", "status"])
    audit_record(
        actor=actor,
        action="import",
        target="interactions",
        changes={"job": job.pk, "file": job.original_name, "source": job.source},
    )
    transaction.on_commit(lambda: run_import.enqueue(job_id=job.pk))


def import_job_again(*, actor: Actor, job) -> None:
    """Queue a failed or killed import again; rows it already wrote are recognised and skipped."""
    from cxcore.interactions.tasks import run_import

    if not job.can_run_again:
        raise ValidationError(_("This import is still running or finished; it cannot run again."))
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["status"])
    transaction.on_commit(lambda: run_import.enqueue(job_id=job.pk))


def import_job_run(*, job_id: int) -> None:
    """Run a queued import (in the worker); counts are saved as it goes, so the page can follow."""
    from cxcore.interactions.csv_import import CsvFileError, csv_import, csv_layout

    job = ImportJob.objects.get(pk=job_id)
    if job.status != ImportJob.Status.QUEUED:
        return  # already run, or picked up by another worker
    job.status = ImportJob.Status.RUNNING
    job.started_at = job.heartbeat_at = timezone.now()
    job.failure = ""
    job.save(update_fields=["status", "started_at", "heartbeat_at", "failure"])

    def progress(rows_done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(
            total_rows=rows_done, heartbeat_at=timezone.now()
        )

    actor = Actor(user=job.created_by, via="import")
    try:
        with job.file.open("rb") as stream:
            layout = csv_layout(stream, job.encoding)
            summary = csv_import(
                stream,
                layout=layout,
                mapping=job.mapping,
                actor=actor,
                source=job.source,
                progress=progress,
            )
    except CsvFileError as exc:
        job.status = ImportJob.Status.FAILED
        job.failure = str(exc)
    except Exception as exc:
        log.exception("import %s failed", job.pk)
        job.status = ImportJob.Status.FAILED
        job.failure = (
            _("The import stopped: %s. Rows already imported stay; re-run to finish.") % exc
        )
    else:
        job.status = ImportJob.Status.DONE
        job.total_rows = summary.total_rows
        job.created_count = summary.created
        job.existing_count = summary.existing
        job.error_count = summary.error_count
        job.errors = summary.errors
        # The uploaded file is personal data we no longer need once its rows are in: keep
        # the counts and the error report, not the file. A failed import keeps it to run again.
        job.file.delete(save=False)
    job.finished_at = timezone.now()
    job.save()
