"""Comments and notes are read in the background wherever they come in, and every past one
again after the taxonomy changes, in a chain of short batches."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services as feedback_services
from cxcore.interactions.csv_import import csv_import, csv_layout, mapping_guess
from cxcore.interactions.models import Interaction
from cxcore.interactions.services import interaction_record
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.text import services, tasks
from cxcore.text.models import TextAnalysis
from cxcore.text.tests.test_services import (
    ACTOR,
    NEGATIVE_FR,
    POSITIVE_EN,
    TextTestCase,
    answer_survey,
    comment_of,
    note_interaction,
    survey_with_comment,
)


class NewCommentsTests(TextTestCase):
    def setUp(self):
        super().setUp()
        self.survey = survey_with_comment()

    def test_a_submitted_comment_is_read_once_the_answer_commits(self):
        with self.captureOnCommitCallbacks(execute=False) as pending:
            response = answer_survey(self.survey, NEGATIVE_FR)
        self.assertFalse(TextAnalysis.objects.exists())  # nothing before the commit
        for callback in pending:
            callback()
        analysis = TextAnalysis.objects.get()
        self.assertEqual(analysis.answer, comment_of(response))
        self.assertEqual(analysis.sentiment, "negative")

    def test_an_answer_without_comment_plans_nothing(self):
        with (
            mock.patch.object(tasks, "analyse_answers") as planned,
            self.captureOnCommitCallbacks(execute=True),
        ):
            answer_survey(self.survey, None)
        planned.enqueue.assert_not_called()
        self.assertFalse(TextAnalysis.objects.exists())

    def test_an_agents_entry_is_read_too(self):
        customer = make_customer("Léa", "Roux")
        invitation = feedback_services.invitation_create(
            survey=self.survey, channel="paper", customer=customer
        )
        with self.captureOnCommitCallbacks(execute=True):
            response = feedback_services.response_enter(
                actor=ACTOR,
                invitation=invitation,
                answers={"nps": 2, "comment": NEGATIVE_FR},
                channel="paper",
            )
        self.assertEqual(comment_of(response).analysis.sentiment, "negative")

    def test_imported_responses_are_read(self):
        now = timezone.now()
        items = [
            {
                "source": "other-tool",
                "external_id": f"r{n}",
                "completed_at": now.isoformat(),
                "answers": {"nps": 9, "comment": f"{POSITIVE_EN} {n}"},
            }
            for n in range(3)
        ]
        with self.captureOnCommitCallbacks(execute=True):
            feedback_services.responses_import(actor=ACTOR, survey=self.survey, items=items)
        self.assertEqual(TextAnalysis.objects.filter(sentiment="positive").count(), 3)
        # A replay creates nothing and reads nothing again.
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            feedback_services.responses_import(actor=ACTOR, survey=self.survey, items=items)
        self.assertEqual(len(callbacks), 0)

    def test_a_comment_sent_by_sms_after_the_score_is_read(self):
        customer = make_customer("Léa", "Roux", phone="+33612345678")
        invitation = feedback_services.invitation_create(
            survey=self.survey, channel="sms", customer=customer
        )
        feedback_services.response_submit(
            token=invitation.token, answers={"nps": 2}, complete=True, require_all=False
        )
        with self.captureOnCommitCallbacks(execute=True):
            result = feedback_services.sms_reply_record(phone="+33612345678", text=NEGATIVE_FR)
        self.assertEqual(result["status"], "commented")
        self.assertEqual(TextAnalysis.objects.get().sentiment, "negative")

    def test_a_failure_to_plan_never_fails_the_answer(self):
        with (
            mock.patch.object(tasks, "_plan", side_effect=RuntimeError("queue down")),
            self.assertLogs("cxcore.text.tasks", "ERROR"),
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = answer_survey(self.survey, NEGATIVE_FR)
        self.assertEqual(response.status, "complete")
        self.assertFalse(TextAnalysis.objects.exists())


class NewNotesTests(TextTestCase):
    def setUp(self):
        super().setUp()
        self.touchpoint = make_touchpoint("reviews", kind="social")
        self.customer = make_customer("Paul", "Martin", email="paul@example.org")

    def test_an_interaction_recorded_with_a_note_is_read(self):
        with self.captureOnCommitCallbacks(execute=True):
            interaction = interaction_record(
                actor=ACTOR,
                customer=self.customer,
                touchpoint="reviews",
                channel="social",
                kind="review",
                occurred_at=timezone.now().isoformat(),
                note=NEGATIVE_FR,
            )
        self.assertEqual(interaction.text_analysis.sentiment, "negative")

    def test_imported_reviews_are_read_and_rows_without_note_are_not(self):
        import io

        rows = [
            "external_id,date,touchpoint,channel,kind,email,note",
            f'a1,2026-03-01T10:00:00+01:00,reviews,web,review,paul@example.org,"{NEGATIVE_FR}"',
            f'a2,2026-03-02T10:00:00+01:00,reviews,social,review,paul@example.org,"{POSITIVE_EN}"',
            "a3,2026-03-03T10:00:00+01:00,reviews,web,visit,paul@example.org,",
        ]
        stream = io.BytesIO("\n".join(rows).encode())
        layout = csv_layout(stream)
        with self.captureOnCommitCallbacks(execute=True):
            summary = csv_import(
                stream, layout=layout, mapping=mapping_guess(layout.headers), actor=ACTOR
            )
        self.assertEqual(summary.created, 3)
        read = dict(TextAnalysis.objects.values_list("interaction__external_id", "sentiment"))
        self.assertEqual(read, {"a1": "negative", "a2": "positive"})
        self.assertFalse(TextAnalysis.objects.filter(interaction__external_id="a3").exists())

    def test_a_failure_to_plan_never_fails_the_import(self):
        with (
            mock.patch.object(tasks, "_plan", side_effect=RuntimeError("queue down")),
            self.assertLogs("cxcore.text.tasks", "ERROR"),
            self.captureOnCommitCallbacks(execute=True),
        ):
            interaction_record(
                actor=ACTOR,
                customer=self.customer,
                touchpoint="reviews",
                channel="social",
                occurred_at=timezone.now().isoformat(),
                note=NEGATIVE_FR,
            )
        self.assertEqual(Interaction.objects.count(), 1)


class ReanalysisTests(TextTestCase):
    def test_the_chain_reads_every_past_text_in_batches_and_stops(self):
        survey = survey_with_comment()
        for n in range(3):
            answer_survey(survey, f"{NEGATIVE_FR} {n}")
        customer = make_customer("Paul", "Martin")
        for n in range(2):
            note_interaction(customer, f"{POSITIVE_EN} {n}", hours_ago=n + 1)

        with (
            mock.patch.object(services, "BATCH_SIZE", 2),
            mock.patch.object(
                services, "analyses_refresh_batch", wraps=services.analyses_refresh_batch
            ) as batches,
        ):
            tasks.reanalyse_all.enqueue()

        self.assertEqual(batches.call_count, 4)  # 2 + 1 comments, 2 notes, then done
        self.assertEqual(TextAnalysis.objects.count(), 5)

    def test_a_taxonomy_change_plans_one_chain_from_the_start(self):
        from django_tasks_db.models import DBTaskResult

        waiting = mock.Mock(func=tasks.reanalyse_all.func)
        with mock.patch.object(tasks, "reanalyse_all", waiting):
            tasks.reanalysis_plan()
            self.assertEqual(waiting.enqueue.call_count, 1)
            # A chain already waiting to start (another worker's backend) is enough.
            func = tasks.reanalyse_all.func
            row = DBTaskResult.objects.create(
                task_path=f"{func.__module__}.{func.__qualname__}",
                args_kwargs={"args": [], "kwargs": {}},
                backend_name="default",
                run_after=timezone.now() - timedelta(seconds=1),
            )
            tasks.reanalysis_plan()
            self.assertEqual(waiting.enqueue.call_count, 1)
            # One under way (with its cursors) is not: it has passed the first texts already.
            row.args_kwargs = {"args": [], "kwargs": {"after_answer": 10, "after_interaction": 0}}
            row.save()
            tasks.reanalysis_plan()
            self.assertEqual(waiting.enqueue.call_count, 2)
