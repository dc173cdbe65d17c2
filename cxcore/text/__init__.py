"""Text understanding in French and English: language, sentiment and topics of any free text."""
