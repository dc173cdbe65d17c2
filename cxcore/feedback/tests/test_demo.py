"""The demo's surveys: open, triggered, with answers on every channel that follow what happened."""

from cxcore.demo import demo_seed
from cxcore.feedback.models import Invitation, Kiosk, Response, Survey, SurveyTrigger
from cxcore.test import BaseTestCase

SEED = 11


class DemoFeedbackTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.summary = demo_seed(seed=SEED, customers=300, interactions=3000)

    def test_three_open_surveys_with_their_invitation_message_trigger_and_kiosk(self):
        surveys = Survey.objects.order_by("name")
        self.assertEqual(
            [(s.name, s.status) for s in surveys],
            [
                ("After delivery", "open"),
                ("Relationship 2026", "open"),
                ("Store visit Paris Rivoli", "open"),
            ],
        )
        for survey in surveys:
            self.assertEqual(survey.invitation_message.purpose, "feedback")
            self.assertTrue(survey.public_code)
        trigger = SurveyTrigger.objects.get()
        self.assertEqual((trigger.delay_minutes, trigger.sampling_percent), (120, 50))
        self.assertEqual(Kiosk.objects.get().site.code, "paris-rivoli")

    def test_answers_come_by_every_channel_and_late_parcels_make_detractors(self):
        self.assertEqual(self.summary["responses"], Response.objects.count())
        self.assertGreater(Response.objects.count(), 50)
        self.assertGreater(Invitation.objects.count(), Response.objects.count())
        # Every demo answer was an invitation's, so response rates are real.
        self.assertFalse(Response.objects.filter(invitation__isnull=True).exists())
        self.assertGreaterEqual(len(set(Response.objects.values_list("channel", flat=True))), 4)
        late = Response.objects.filter(interaction__outcome="late", nps__isnull=False)
        on_time = Response.objects.filter(interaction__outcome="on_time", nps__isnull=False)
        self.assertTrue(late.exists() and on_time.exists())
        share = lambda qs: qs.filter(nps_category="detractor").count() / qs.count()  # noqa: E731
        self.assertGreater(share(late), share(on_time))

    def test_a_second_run_writes_no_survey_or_answer_again(self):
        before = (Survey.objects.count(), Response.objects.count(), Invitation.objects.count())
        demo_seed(seed=SEED, customers=300, interactions=3000)
        after = (Survey.objects.count(), Response.objects.count(), Invitation.objects.count())
        self.assertEqual(before, after)
