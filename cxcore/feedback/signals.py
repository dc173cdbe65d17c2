"""Events of the feedback area that areas above it follow without feedback knowing them."""

from django.dispatch import Signal

# Sent after the commit of a write that recorded answers (a submission, an agent's entry, an
# import, an SMS comment), with response_ids=[...]: text analysis reads their comments.
responses_recorded = Signal()
