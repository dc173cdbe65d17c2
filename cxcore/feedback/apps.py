from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _interactions_recorded(sender, interaction_ids, **kwargs):
    # Imported here, not in ready(): defining tasks would fix the task backend before the
    # settings (tests' included) are final.
    from cxcore.feedback.tasks import on_interactions_recorded

    on_interactions_recorded(sender, interaction_ids=interaction_ids)


class FeedbackConfig(AppConfig):
    name = "cxcore.feedback"
    verbose_name = _("Feedback")

    def ready(self):
        from cxcore.customers.queries import timeline_source_register
        from cxcore.customers.signals import customer_merged
        from cxcore.feedback.queries import customer_responses_timeline, invitation_placeholders
        from cxcore.feedback.services import responses_follow_merge
        from cxcore.interactions.signals import interactions_recorded
        from cxcore.membrane.backends import placeholder_filler_register

        # An invitation's message carries the customer's own survey link and code; the
        # customer's timeline shows their answers, which follow a merge; new interactions
        # wake survey triggers.
        placeholder_filler_register(invitation_placeholders, ("survey_link", "survey_code"))
        timeline_source_register(customer_responses_timeline, narrowable=True)
        customer_merged.connect(responses_follow_merge, dispatch_uid="feedback-merge")
        interactions_recorded.connect(_interactions_recorded, dispatch_uid="feedback-triggers")
