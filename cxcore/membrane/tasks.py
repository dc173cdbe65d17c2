"""Background work of the membrane: deciding campaigns and sending what is due."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django_tasks import default_task_backend, task

from cxcore.membrane import services


@task(queue_name="membrane")
def run_campaign(campaign_id: int) -> None:
    services.campaign_run(campaign_id=campaign_id)


@task(queue_name="membrane")
def send_due_deliveries() -> int:
    sent = services.deliveries_send_due()
    wake_at = services.next_due_at()
    if wake_at is not None and wake_at > timezone.now():
        schedule_sender(wake_at)
    return sent


def schedule_sender(wake_at: datetime) -> None:
    """Wake the sender at `wake_at` (deferred deliveries), unless a wake-up is already planned."""
    if not default_task_backend.supports_defer or _wake_planned(wake_at):
        return
    send_due_deliveries.using(run_after=wake_at).enqueue()


def _wake_planned(before: datetime) -> bool:
    # Every sender run would otherwise plan its own follow-up and the chains would multiply.
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another backend: a duplicate wake-up only finds nothing to send
        return False
    return DBTaskResult.objects.filter(
        task_path=f"{send_due_deliveries.func.__module__}.{send_due_deliveries.func.__qualname__}",
        status="READY",
        run_after__lte=before,
    ).exists()
