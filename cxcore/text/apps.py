from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _responses_recorded(sender, response_ids, **kwargs):
    # Imported here, not in ready(): defining tasks would fix the task backend before the
    # settings (tests' included) are final.
    from cxcore.text.tasks import on_responses_recorded

    on_responses_recorded(response_ids=response_ids)


def _interactions_recorded(sender, interaction_ids, **kwargs):
    from cxcore.text.tasks import on_interactions_recorded

    on_interactions_recorded(interaction_ids=interaction_ids)


class TextConfig(AppConfig):
    name = "cxcore.text"
    verbose_name = _("Text analysis")

    def ready(self):
        from cxcore.customers.queries import timeline_annotator_register, timeline_filter_register
        from cxcore.feedback.signals import responses_recorded
        from cxcore.interactions.signals import interactions_recorded
        from cxcore.text.queries import timeline_annotate, timeline_filters

        # New comments and notes are read in the background, wherever they came in; the
        # customer's timeline shows what was read and narrows to a sentiment or a topic.
        responses_recorded.connect(_responses_recorded, dispatch_uid="text-responses")
        interactions_recorded.connect(_interactions_recorded, dispatch_uid="text-interactions")
        for timeline_filter in timeline_filters():
            timeline_filter_register(timeline_filter)
        timeline_annotator_register(timeline_annotate)
