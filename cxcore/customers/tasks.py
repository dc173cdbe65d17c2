"""Background work of the nucleus."""

from django_tasks import task

from cxcore.customers.services import customer_scores_refresh


@task()
def refresh_customer_scores(customer_ids: list[int]) -> int:
    """Recompute lifecycle stage and intensity after new interactions arrived."""
    return customer_scores_refresh(customer_ids=customer_ids)
