"""Events of the nucleus that areas above it follow without the nucleus knowing them."""

from django.dispatch import Signal

# Sent inside the merge's transaction with survivor=, merged= and actor=: areas that keep
# their own records about customers (consents, preferences) carry them over to the survivor.
customer_merged = Signal()
