"""What the text engine returns: plain, immutable values that know nothing of Django."""

from __future__ import annotations

from dataclasses import dataclass, field

# Languages the engine understands; anything else is "other".
LANGUAGES = ("fr", "en")
OTHER = "other"

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
SENTIMENTS = (NEGATIVE, NEUTRAL, POSITIVE)

# Flags say what the engine noticed about the input, so callers can explain a result.
FLAG_EMPTY = "empty"  # nothing left to read once markup and whitespace are gone
FLAG_TRUNCATED = "truncated"  # longer than the limit: only the first part was analysed
FLAG_BINARY = "binary"  # looks like binary data, not words
FLAG_MARKUP = "markup"  # HTML tags were removed before reading
FLAG_MIXED = "mixed"  # French and English both present in earnest


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic a text speaks of, with the words of the text that matched it."""

    code: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Analysis:
    language: str  # "fr", "en" or "other"
    sentiment: str  # negative, neutral or positive
    score: float  # from -1 (most negative) to 1 (most positive)
    topics: tuple[TopicMatch, ...] = ()
    # For texts that are negative or lean negative (engine.COMPLAINT_SCORE): the sentences that
    # carry the complaint, most negative first.
    complaints: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    model: str = ""  # the sentiment model's version, so stored results can be traced

    @property
    def topic_codes(self) -> tuple[str, ...]:
        return tuple(match.code for match in self.topics)


@dataclass(frozen=True, slots=True)
class Cleaned:
    """A text made ready for reading: markup gone, whitespace tidied, cut at the limit."""

    text: str
    flags: tuple[str, ...] = field(default=())
