"""Background work of the feedback area: inviting after interactions, when triggers say so."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django_tasks import default_task_backend, task

from cxcore.feedback import services

# A sweep also runs this long after the last one while interactions wait for their delay.
SWEEP_EVERY = timedelta(minutes=5)


@task(queue_name="default")
def invite_after_interactions() -> dict[str, int]:
    counts = services.triggers_fire()
    next_due = services.triggers_next_due()
    if counts["invited"] + counts["blocked"] + counts["skipped"] >= services.SWEEP_BATCH:
        next_due = timezone.now()  # more are due than one run takes: go on at once
    if next_due is not None:
        sweep_schedule(max(next_due, timezone.now()))
    return counts


def sweep_schedule(run_at: datetime) -> None:
    """Plan a sweep at `run_at`, unless one is already planned by then (no chains multiply)."""
    if not default_task_backend.supports_defer:
        if run_at <= timezone.now():
            invite_after_interactions.enqueue()
        return
    if _sweep_planned(run_at):
        return
    invite_after_interactions.using(run_after=run_at).enqueue()


def _sweep_planned(before: datetime) -> bool:
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another backend: an extra sweep only finds nothing to do
        return False
    func = invite_after_interactions.func
    return DBTaskResult.objects.filter(
        task_path=f"{func.__module__}.{func.__qualname__}",
        status="READY",
        run_after__lte=before,
    ).exists()


def on_interactions_recorded(sender, interaction_ids, **kwargs) -> None:
    """New interactions: plan a sweep for when the soonest trigger delay has passed."""
    from cxcore.feedback.models import SurveyTrigger

    delays = SurveyTrigger.objects.filter(active=True, survey__status="open").values_list(
        "delay_minutes", flat=True
    )
    if delays:
        sweep_schedule(timezone.now() + timedelta(minutes=min(delays)))
