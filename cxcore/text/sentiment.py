"""Sentiment: a linear model over word n-grams and a hand-written lexicon, scored in batches.

Why this model (measured in bench/text.py and the notes of issue 6): on a few thousand reviews a
logistic regression over word unigrams and bigrams beats the packaged lexicons by 20 to 30
points, and adding character n-grams or spaCy word vectors bought less than a point while
costing most of the speed. What the reviews cannot teach is the language of other companies'
customers, so the model also reads a lexicon written for customer experience in general
(`data/lexicon_*.tsv`): what it reads becomes five features (LEXICAL_FEATURES) whose weights
the model learns beside the n-grams'.

The artefact is plain JSON (vocabulary and weights per language), small enough to ship in the
repository and to store in the database when a company adapts the model to its own words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .types import NEGATIVE, NEUTRAL, POSITIVE, SENTIMENTS

DATA_DIR = Path(__file__).resolve().parent / "data"
CLASSES = (NEGATIVE, NEUTRAL, POSITIVE)  # the order of the weight columns

# Accents off, typographic apostrophes and ligatures plain: customers write "decu" and "déçu".
# Accented letters are few in a text, so a regex finds them and a cached function swaps each;
# str.translate would look every character up in a dict, several times slower.
_ACCENTED = re.compile(r"[\u00c0-\u024f\u1e00-\u1eff\u2019\u02bc`\u00b4]")
_SPECIAL = {"\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'", "œ": "oe", "æ": "ae"}


@cache
def _unmarked(letter: str) -> str:
    if letter in _SPECIAL:
        return _SPECIAL[letter]
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", letter) if not unicodedata.combining(ch)
    )


def _swap(match: re.Match) -> str:
    return _unmarked(match.group())


# Words; runs of sentence punctuation (they close a negation's scope and "!" carries feeling);
# emoji and the few emoticons customers type.
TOKEN = re.compile(
    r"[a-z0-9]+"
    r"|[:;]-?[()dp/]|<3"
    r"|[.!?;,]+"
    r"|[\u2600-\u27bf\u2b00-\u2bff\U0001f300-\U0001faff]",
)
_PUNCTUATION = frozenset(".!?;,")
# A negation covers this many following words, or up to the next punctuation.
NEGATION_SCOPE = 3


def fold(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    return _ACCENTED.sub(_swap, text)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(fold(text))


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Valences of words and phrases, and the words that change their neighbours' weight."""

    words: dict[str, float]  # one-word entries
    # Entries of several words, by their first two, longest first: a word that starts phrases
    # costs one lookup with its neighbour, not a comparison with each phrase.
    phrases: dict[tuple[str, str], list[tuple[tuple[str, ...], float]]]
    negations: frozenset[str]
    intensifiers: frozenset[str]
    dampeners: frozenset[str]
    contrasts: frozenset[str]
    # As read, so an artefact carries the lexicon its weights were fitted with.
    lines: tuple[str, ...] = ()
    # Every word that starts an entry or modifies its neighbours: the others are passed over.
    special: frozenset[str] = frozenset()

    @classmethod
    def from_lines(cls, lines) -> Lexicon:
        lines = tuple(line for line in lines if line.strip() and not line.lstrip().startswith("#"))
        single: dict[str, float] = {}
        phrases: dict[tuple[str, str], list[tuple[tuple[str, ...], float]]] = {}
        modifiers: dict[str, set[str]] = {
            "NEGATION": set(),
            "INTENSIFIER": set(),
            "DAMPENER": set(),
            "CONTRAST": set(),
        }
        for line in lines:
            term, _, value = line.partition("\t")
            words = tuple(t for t in tokens(term) if t[0] not in _PUNCTUATION)
            if not words:
                continue
            value = value.strip()
            if value in modifiers:
                # Modifiers are single words; a modifier phrase keeps its last word.
                modifiers[value].add(words[-1] if len(words) > 1 else words[0])
                continue
            if len(words) == 1:
                single.setdefault(words[0], float(value))  # the first entry of a word wins
            else:
                phrases.setdefault(words[:2], []).append((words, float(value)))
        for entries in phrases.values():
            entries.sort(key=lambda entry: -len(entry[0]))  # stable: file order among equals
        return cls(
            words=single,
            phrases=phrases,
            negations=frozenset(modifiers["NEGATION"]),
            intensifiers=frozenset(modifiers["INTENSIFIER"]),
            dampeners=frozenset(modifiers["DAMPENER"]),
            contrasts=frozenset(modifiers["CONTRAST"]),
            lines=lines,
            special=frozenset(single).union((first for first, _ in phrases), *modifiers.values()),
        )


@cache
def lexicon(language: str) -> Lexicon:
    """The shipped lexicon of a language, with the emoji every language shares."""
    lines: list[str] = []
    for name in (f"lexicon_{language}.tsv", "emoji.tsv"):
        path = DATA_DIR / name
        if path.exists():
            lines.extend(path.read_text(encoding="utf-8").splitlines())
    return Lexicon.from_lines(lines)


# What the lexicon tells the model of a text, in this order (see lexicon_scores).
LEXICAL_FEATURES = ("positive", "negative", "strongest positive", "strongest negative", "last")


def lexicon_scores(
    words: list[str], lex: Lexicon
) -> tuple[float, float, float, float, float, list[str]]:
    """What the lexicon reads in a text, after negation, intensity and contrast.

    Sums of positive and of negative valence; the strongest of each (one "scandaleux" says more
    than three "correct"); and the net valence of the last sentence that has any, where reviews
    usually conclude. Also returns the words to use as features, each marked "~word" inside a
    negation's scope, so the model learns that "pas terrible" is not "terrible".
    """
    positive = negative = strongest_positive = strongest_negative = 0.0
    sentence = last = 0.0
    marked = list(words)
    scope = 0
    boost = 1.0
    weight = 1.0  # what follows "but" counts more than what came before
    single, phrases, special = lex.words, lex.phrases, lex.special
    last_position = len(words) - 1
    # Most words are neither in the lexicon nor punctuation: only these positions are visited;
    # the plain words between them only count down a negation's scope.
    hits = [p for p, word in enumerate(words) if word in special or word[0] in _PUNCTUATION]
    i = 0  # the first word not yet read
    for position in hits:
        if position < i:
            continue  # inside a phrase already read
        if scope:
            plain = min(scope, position - i)
            for j in range(i, i + plain):
                marked[j] = "~" + words[j]
            scope -= plain
        word = words[position]
        i = position + 1
        if word[0] in _PUNCTUATION:
            scope, boost = 0, 1.0
            if sentence:
                last, sentence = sentence, 0.0
            continue
        if scope:
            marked[position] = "~" + word
        if word in lex.contrasts:
            positive, negative, weight = positive * 0.5, negative * 0.5, 1.5
            continue
        step, valence = 1, None
        if position < last_position:
            for sequence, value in phrases.get((word, words[position + 1]), ()):
                size = len(sequence)
                if size == 2 or tuple(words[position : position + size]) == sequence:
                    step, valence = size, value
                    break
        if valence is None:
            valence = single.get(word)
        if valence is not None:
            # A phrase is read as written ("aucun problème" is praise); a single word inside a
            # negation's scope is turned around and softened.
            if scope and step == 1:
                valence = -0.6 * valence
            valence *= boost * weight
            sentence += valence
            if valence > 0:
                positive += valence
                strongest_positive = max(strongest_positive, valence)
            else:
                negative -= valence
                strongest_negative = max(strongest_negative, -valence)
            boost = 1.0
            if scope:
                for j in range(position + 1, position + step):
                    marked[j] = "~" + words[j]
            scope = max(scope - step, 0)
            i = position + step
            continue
        if word in lex.negations:
            scope = NEGATION_SCOPE
        elif word in lex.intensifiers:
            boost = 1.5
        elif word in lex.dampeners:
            boost = 0.5
    if scope:
        for j in range(i, min(i + scope, len(words))):
            marked[j] = "~" + words[j]
    if sentence:
        last = sentence
    return positive, negative, strongest_positive, strongest_negative, last, marked


def features(text: str, lex: Lexicon) -> tuple[list[str], tuple[float, ...]]:
    """The n-gram features of a text and its lexical features (LEXICAL_FEATURES).

    Sums are scaled by the square root of the length, so a long review is not more positive
    for having more words; valences are brought to about -1..1.
    """
    words = tokens(text)
    positive, negative, strongest_positive, strongest_negative, last, marked = lexicon_scores(
        words, lex
    )
    grams = [w for w in marked if w[0] not in ".,;"]
    grams += [a + " " + b for a, b in zip(marked, marked[1:], strict=False)]
    scale = (len(words) + 1) ** -0.5
    lexical = (
        positive * scale,
        negative * scale,
        strongest_positive / 3,
        strongest_negative / 3,
        max(-1.0, min(1.0, last / 3)),
    )
    return grams, lexical


@dataclass(slots=True)
class LanguageModel:
    """One language's weights: a row per n-gram, then a row per lexical feature."""

    vocabulary: dict[str, int]
    weights: np.ndarray  # (len(vocabulary) + len(LEXICAL_FEATURES), 3), in CLASSES order
    bias: np.ndarray  # (3,)
    lexicon: Lexicon

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Class scores of many texts at once: one gather and one segmented sum over all grams."""
        count = len(texts)
        if not count:
            return np.zeros((0, 3))
        get = self.vocabulary.get
        indexes: list[int] = []
        starts = np.empty(count, dtype=np.int64)
        sizes = np.empty(count, dtype=np.float64)
        lexical = np.empty((count, len(LEXICAL_FEATURES)), dtype=np.float64)
        for row, text in enumerate(texts):
            grams, lexical[row] = features(text, self.lexicon)
            starts[row] = len(indexes)
            found = [index for index in map(get, grams) if index is not None]
            indexes.extend(found)
            sizes[row] = len(found)
        logits = np.tile(self.bias, (count, 1))
        if indexes:
            gathered = self.weights[np.asarray(indexes, dtype=np.int64)]
            nonempty = sizes > 0
            sums = np.add.reduceat(gathered, starts[nonempty], axis=0)
            logits[nonempty] += sums / np.sqrt(sizes[nonempty])[:, None]
        logits += lexical @ self.weights[-len(LEXICAL_FEATURES) :]
        return logits


def probabilities(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass(slots=True)
class SentimentModel:
    version: str
    languages: dict[str, LanguageModel]
    # A company's adaptation: a model over the company's own words whose scores are added to
    # this one's. It was fitted on what this model got wrong, so it only speaks where the
    # company's words say something this model does not know.
    adapter: SentimentModel | None = None

    def logits(self, texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
        """Scores grouped by language so each group is one vectorised pass.

        A text in neither language is read by every language's model and the scores averaged:
        emoji, "ok" and "top" mean the same everywhere, and the rest weighs nothing.
        """
        logits = np.zeros((len(texts), 3))
        groups: dict[str, list[int]] = {}
        for position, language in enumerate(languages):
            groups.setdefault(language, []).append(position)
        for language, positions in groups.items():
            subset = [texts[p] for p in positions]
            if language in self.languages:
                logits[positions] = self.languages[language].logits(subset)
            else:
                logits[positions] = sum(m.logits(subset) for m in self.languages.values()) / len(
                    self.languages
                )
        if self.adapter is not None:
            logits += self.adapter.logits(texts, languages)
        return logits

    def predict(self, texts: Sequence[str], languages: Sequence[str]) -> list[tuple[str, float]]:
        """(sentiment, score from -1 to 1) per text; the score is P(positive) - P(negative)."""
        if not texts:
            return []
        probs = probabilities(self.logits(texts, languages))
        labels = probs.argmax(axis=1)
        scores = probs[:, 2] - probs[:, 0]
        return [
            (CLASSES[label], round(float(score), 3))
            for label, score in zip(labels, scores, strict=True)
        ]

    # -- the artefact ---------------------------------------------------------------------

    def to_artefact(self) -> dict:
        return {
            "format": 1,
            "version": self.version,
            "classes": list(CLASSES),
            "languages": {
                code: {
                    # Vocabulary in index order, so the artefact is a pair of parallel lists.
                    "vocabulary": sorted(model.vocabulary, key=model.vocabulary.__getitem__),
                    "weights": np.round(model.weights, 3).tolist(),
                    "bias": np.round(model.bias, 4).tolist(),
                    "lexicon": list(model.lexicon.lines),
                }
                for code, model in sorted(self.languages.items())
            },
            "adapter": self.adapter.to_artefact() if self.adapter else None,
        }

    @classmethod
    def from_artefact(cls, artefact: dict) -> SentimentModel:
        if artefact.get("format") != 1 or tuple(artefact.get("classes", ())) != CLASSES:
            raise ValueError("Not a sentiment model artefact of format 1.")
        languages = {}
        for code, part in artefact["languages"].items():
            vocabulary = {gram: index for index, gram in enumerate(part["vocabulary"])}
            weights = np.asarray(part["weights"], dtype=np.float64).reshape(-1, 3)
            if len(weights) != len(vocabulary) + len(LEXICAL_FEATURES):
                raise ValueError(f"Weights and vocabulary of {code!r} do not match.")
            languages[code] = LanguageModel(
                vocabulary=vocabulary,
                weights=weights,
                bias=np.asarray(part["bias"], dtype=np.float64),
                lexicon=(
                    Lexicon.from_lines(part["lexicon"]) if "lexicon" in part else lexicon(code)
                ),
            )
        adapter = artefact.get("adapter")
        return cls(
            version=artefact["version"],
            languages=languages,
            adapter=cls.from_artefact(adapter) if adapter else None,
        )


assert set(CLASSES) == set(SENTIMENTS)
