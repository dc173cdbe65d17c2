"""Background work of the interaction log."""

from django_tasks import task

from cxcore.interactions.services import import_job_run


@task(queue_name="imports")
def run_import(job_id: int) -> None:
    import_job_run(job_id=job_id)
