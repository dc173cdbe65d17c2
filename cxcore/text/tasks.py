"""Background work of the text area: reading new comments and notes, and every past one again
after the taxonomy changed."""

from __future__ import annotations

import logging

from django_tasks import task

from cxcore.text import services

log = logging.getLogger(__name__)


@task()
def analyse_answers(answer_ids: list[int]) -> dict[str, int]:
    return services.analyses_store_for_answers(answer_ids)


@task()
def analyse_interactions(interaction_ids: list[int]) -> dict[str, int]:
    return services.analyses_store_for_interactions(interaction_ids)


@task()
def reanalyse_all(after_answer: int = 0, after_interaction: int = 0) -> dict:
    """One batch of past comments and notes read again, then the next batch planned: each run
    stays short, and a worker that stops loses one batch at most."""
    result = services.analyses_refresh_batch(
        after_answer=after_answer, after_interaction=after_interaction
    )
    if not result["done"]:
        reanalyse_all.enqueue(
            after_answer=result["after_answer"], after_interaction=result["after_interaction"]
        )
    return result


def reanalysis_plan() -> None:
    """Plan a re-reading from the first text, unless one is already waiting to start.

    A chain under way goes on: it compares each batch with the taxonomy of the moment, and
    the new chain reads again what it passed before the change.
    """
    if _reanalysis_waiting():
        return
    reanalyse_all.enqueue()


def _reanalysis_waiting() -> bool:
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another backend: a second chain only finds nothing to do
        return False
    func = reanalyse_all.func
    waiting = DBTaskResult.objects.filter(
        task_path=f"{func.__module__}.{func.__qualname__}", status="READY"
    ).values_list("args_kwargs", flat=True)
    # Only a chain's first run starts from the first text (the others carry cursors).
    return any(
        not (call or {}).get("args") and not (call or {}).get("kwargs") for call in waiting[:100]
    )


def _plan(task_, ids: list[int]) -> None:
    for start in range(0, len(ids), services.BATCH_SIZE):
        task_.enqueue(ids[start : start + services.BATCH_SIZE])


def on_responses_recorded(*, response_ids: list[int]) -> None:
    """Answers recorded: read their comments in the background. Never fails the recording."""
    from cxcore.feedback.models import Answer, QuestionType

    try:
        ids = list(
            Answer.objects.filter(response_id__in=response_ids, question__type=QuestionType.TEXT)
            .exclude(text="")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        _plan(analyse_answers, ids)
    except Exception:
        log.exception("could not plan the reading of %d responses' comments", len(response_ids))


def on_interactions_recorded(*, interaction_ids: list[int]) -> None:
    """Interactions recorded: read those with a note. Never fails the recording."""
    from cxcore.interactions.models import Interaction

    try:
        ids = []
        for start in range(0, len(interaction_ids), services.BATCH_SIZE):
            chunk = interaction_ids[start : start + services.BATCH_SIZE]
            ids.extend(
                Interaction.objects.filter(pk__in=chunk)
                .exclude(note="")
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        _plan(analyse_interactions, ids)
    except Exception:
        log.exception("could not plan the reading of %d interactions' notes", len(interaction_ids))
