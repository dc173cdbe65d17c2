"""Paper questionnaires: one page per invitation, its code printed big, printed by staff."""

from __future__ import annotations

import re
import zlib

from cxcore.customers.models import AuditEntry
from cxcore.feedback import paper, services
from cxcore.feedback.models import Invitation
from cxcore.feedback.tests.test_staff_pages import SurveyPagesTestCase
from cxcore.feedback.tests.test_surveys import ACTOR

PAGE = re.compile(rb"/Type\s*/Page(?!s)")
# Up to "endstream" with the end-of-line before it: compressed data may itself end in \r or
# \n, so the line end is left on and the decompressor ignores what follows the data.
STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)


def page_count(pdf: bytes) -> int:
    return len(PAGE.findall(pdf))


def pdf_text(pdf: bytes) -> bytes:
    """The page contents, inflated: enough to find the words printed on them."""
    parts = []
    for raw in STREAM.findall(pdf):
        try:
            parts.append(zlib.decompressobj().decompress(raw))
        except zlib.error:
            parts.append(raw)
    return b"\n".join(parts)


class PaperTests(SurveyPagesTestCase):
    def setUp(self):
        super().setUp()
        self.survey = self.opened()

    def test_it_prints_one_page_per_questionnaire_with_its_code(self):
        invitations = services.paper_invitations_create(
            actor=ACTOR, survey=self.survey, count=3, language="en"
        )

        pdf = paper.questionnaires_pdf(invitations)

        self.assertTrue(pdf.startswith(b"%PDF"))
        self.assertEqual(page_count(pdf), 3)
        text = pdf_text(pdf)
        for invitation in invitations:
            self.assertIn(services.short_code_display(invitation.short_code).encode(), text)
        self.assertIn(b"An agent will key in your answers with this code", text)
        self.assertIn(b"Would you recommend us?", text)

    def test_it_prints_in_the_invitations_language(self):
        invitation = services.paper_invitations_create(
            actor=ACTOR, survey=self.survey, count=1, language="fr"
        )[0]

        text = pdf_text(paper.questionnaires_pdf([invitation]))

        self.assertIn(b"Recommanderiez-vous", text)
        self.assertNotIn(b"Would you recommend us?", text)

    def test_staff_print_a_batch_of_anonymous_paper_invitations(self):
        self.client.force_login(self.agent)

        response = self.client.post(
            f"/surveys/{self.survey.pk}/paper.pdf", {"count": "4", "language": "en"}
        )

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertEqual(page_count(response.content), 4)
        invitations = Invitation.objects.filter(survey=self.survey)
        self.assertEqual(invitations.count(), 4)
        self.assertEqual(set(invitations.values_list("channel", flat=True)), {"paper"})
        self.assertFalse(invitations.filter(customer__isnull=False).exists())
        self.assertTrue(AuditEntry.objects.filter(action="paper_invitations_created").exists())

    def test_the_count_is_checked_and_a_draft_cannot_be_printed(self):
        draft = self.draft()
        self.client.force_login(self.manager)

        too_many = self.client.post(
            f"/surveys/{self.survey.pk}/paper.pdf", {"count": "501", "language": "fr"}
        )
        not_open = self.client.post(
            f"/surveys/{draft.pk}/paper.pdf", {"count": "2", "language": "fr"}
        )

        self.assertEqual(too_many.status_code, 400)
        self.assertIn("count", too_many.context["paper_form"].errors)
        self.assertEqual(not_open.status_code, 400)
        self.assertTrue(not_open.context["paper_form"].non_field_errors())
        self.assertFalse(Invitation.objects.exists())

    def test_readers_who_do_not_enter_answers_cannot_print(self):
        for user in (self.analyst, self.marketer, self.auditor, self.outsider):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                response = self.client.post(
                    f"/surveys/{self.survey.pk}/paper.pdf", {"count": "1", "language": "fr"}
                )
                self.assertEqual(response.status_code, 403)
        self.assertFalse(Invitation.objects.exists())
