"""Events of the interaction log that areas above it follow without the log knowing them."""

from django.dispatch import Signal

# Sent after the commit of a write that created interactions, with interaction_ids=[...]:
# survey triggers plan their invitations from it.
interactions_recorded = Signal()
