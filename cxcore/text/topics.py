"""Topic matching: which topics of a taxonomy a customer comment speaks of, found by term lists."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any

import snowballstemmer

from cxcore.text.types import LANGUAGES, TopicMatch

TAXONOMY_PATH = Path(__file__).parent / "data" / "taxonomy.json"

# A match reports at most this many of the text's words, enough to explain it on a screen.
MAX_WORDS = 5
# Shorter prefixes ("re*", "in*") would match half the dictionary.
MIN_PREFIX_LENGTH = 3
# Bump when the way terms are matched changes, so that `TopicMatcher.version` changes with it.
MATCHING_REVISION = 1

_STEMMER_NAMES = {"fr": "french", "en": "english"}
# Comments keep bringing new tokens (typos, numbers, names): the caches start over past this size
# rather than grow for the life of the process.
_CACHE_LIMIT = 200_000

# A word is what `\w` says; punctuation that ends a sentence is kept as its own token so that
# exclusions can be scoped to a sentence and phrases never run across two.
_TOKEN = re.compile(r"\w+|[.!?]")
_SENTENCE_ENDS = frozenset(".!?")
_TERM_WORD = re.compile(r"[\w*]+|[.!?]")
# Words too frequent in comments to anchor a phrase on (see _LanguageIndex.add).
_COMMON_WORDS_WRITTEN = """
    a an the my your our their it is was were be been to of for in on at by with and or
    not no never very so too get got had have has do did don t can will would after new me
    customer service order product time really great good help issue one day days month
    de du des la le les l un une et ou en au aux à a par pour sur dans pas ne n plus très
    trop mon ma mes son sa ses ce cette est été être j d qu que qui il elle on bien bon bonne
    commande commandé produit produits article articles livraison toujours rien comme fait
    faire achat cadeau client temps avant jamais problème"""
_COMMON_WORDS = frozenset(_COMMON_WORDS_WRITTEN.split())
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def fold(word: str) -> str:
    """Lowercase and strip accents, so that "Délai", "délai" and "delai" read the same."""
    word = word.lower()
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word.translate(_LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# Snowball stemmers keep the word being stemmed in the stemmer object: one per thread.
_stemmers = threading.local()
_STEM_CACHE: dict[str, dict[str, str]] = {language: {} for language in _STEMMER_NAMES}


def stem(language: str, word: str) -> str:
    """The snowball stem of one lowercased word, computed once per process for each word."""
    stems = _STEM_CACHE[language]
    found = stems.get(word)
    if found is None:
        stemmer = getattr(_stemmers, language, None)
        if stemmer is None:
            stemmer = snowballstemmer.stemmer(_STEMMER_NAMES[language])
            setattr(_stemmers, language, stemmer)
        if len(stems) >= _CACHE_LIMIT:
            stems.clear()
        found = stems[word] = stemmer.stemWord(word)
    return found


def _word_keys(language: str, word: str) -> frozenset[str]:
    """The keys one lowercased word is matched by.

    The French stemmer reads accents to find endings, so "livrée" gives "livr" but the
    accent-less "livree" gives "livre". A word is therefore known by both the folded stem of the
    word as written and the stem of the folded word; two words match when their keys meet.
    """
    folded = fold(word)
    keys = {stem(language, folded)}
    if folded != word:
        keys.add(fold(stem(language, word)))
    return frozenset(keys)


@dataclass(frozen=True)
class TopicSpec:
    """One topic of a taxonomy as the matcher needs it: its code and its terms by language.

    A term is a word ("colis") or a phrase of several words ("point relais"); each word matches
    its inflections, and a word ending in `*` ("livr*", "shipping fee*") matches any word that
    begins with it. A match is cancelled when one of the exclusions occurs in the same sentence
    ("frais de port offerts" cancels "frais de port").
    """

    code: str
    parent: str | None
    terms: dict[str, tuple[str, ...]]
    exclusions: dict[str, tuple[str, ...]]


def seed_tree() -> list[dict[str, Any]]:
    """The seed taxonomy as stored: nested nodes with names, terms, exclusions and children."""
    return json.loads(TAXONOMY_PATH.read_text(encoding="utf-8"))


def specs_from_tree(tree: Iterable[Mapping[str, Any]]) -> list[TopicSpec]:
    """Flatten nested taxonomy nodes into specs, each parent before its children."""
    specs: list[TopicSpec] = []

    def visit(node: Mapping[str, Any], parent: str | None) -> None:
        specs.append(
            TopicSpec(
                code=node["code"],
                parent=parent,
                terms={lang: tuple(terms) for lang, terms in node.get("terms", {}).items()},
                exclusions={
                    lang: tuple(terms) for lang, terms in node.get("exclusions", {}).items()
                },
            )
        )
        for child in node.get("children", ()):
            visit(child, node["code"])

    for node in tree:
        visit(node, None)
    return specs


def seed_specs() -> list[TopicSpec]:
    return specs_from_tree(seed_tree())


@cache
def seed_matcher() -> TopicMatcher:
    """A matcher of the seed taxonomy, compiled once per process."""
    return TopicMatcher(seed_specs())


# How a word of a term is recognised: by its keys (a frozenset) or, for a `*` word, by the
# beginning of the folded word (a str).
_WordTest = frozenset[str] | str


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A compiled term, found from its anchor: the word of the term least likely to be common.

    Phrases are looked for only where their anchor occurs, so that a phrase starting with a
    common word ("pas reçu", "on hold") costs nothing on every other "pas" and "on".
    """

    topic: int  # index into TopicMatcher.codes
    is_exclusion: bool
    words: tuple[_WordTest, ...]
    anchor: int  # index into words


@dataclass(frozen=True, slots=True)
class _Token:
    """What a matcher knows of one distinct token (as written, lowercased)."""

    surface: str
    keys: frozenset[str]
    folded: str
    # Whether the scan stops on it: a term is anchored on it, or it ends a sentence.
    anchors: bool
    singles: tuple[_Pattern, ...]  # the one-word terms it is
    phrased: bool  # whether any phrase is anchored on it
    # Phrases anchored on it, by a key of the word after or before the anchor, so that an anchor
    # shared by many phrases ("charge") costs a lookup of its neighbours, not a check of each.
    by_next: Mapping[str, tuple[_Pattern, ...]]
    by_previous: Mapping[str, tuple[_Pattern, ...]]
    others: tuple[_Pattern, ...]  # phrases whose neighbour of the anchor is a `*` word
    # Whether it may be the word just after, or just before, the anchor of some phrase: most
    # words are neither, and then the anchor next to them needs no lookup at all.
    follows: bool
    precedes: bool


_SENTENCE_END = _Token(".", frozenset(), "", True, (), False, {}, {}, (), False, False)


class _LanguageIndex:
    """The terms of one language, and what is known of the text chunks already read."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.by_key: dict[str, list[_Pattern]] = {}
        self.by_prefix: dict[int, dict[str, list[_Pattern]]] = {}
        self.common_keys = frozenset().union(
            *(_word_keys(language, word) for word in _COMMON_WORDS)
        )
        self.keys_after_anchors: set[str] = set()
        self.keys_before_anchors: set[str] = set()
        self.tokens: dict[str, _Token] = {}
        # A text is split on whitespace, and each chunk ("Colis", "délai.", "l'emballage")
        # is read once per process: most words of a text then cost one lookup.
        self.chunks: dict[str, tuple[_Token, ...]] = {}

    def add(self, term: str, topic: int, is_exclusion: bool) -> None:
        written = _TERM_WORD.findall(term.lower())
        if not written:
            raise ValueError(f"Bad term {term!r}: no words")
        words = tuple(self._word_test(term, word) for word in written)
        # Where the anchor is changes the speed, never the result. Common words make poor
        # anchors; then longer words are rarer; a whole word beats a prefix, slower to look up.
        anchor = max(
            range(len(words)),
            key=lambda at: (
                isinstance(words[at], str) or words[at].isdisjoint(self.common_keys),
                isinstance(words[at], frozenset),
                len(written[at]),
            ),
        )
        pattern = _Pattern(topic, is_exclusion, words, anchor)
        if anchor + 1 < len(words) and isinstance(words[anchor + 1], frozenset):
            self.keys_after_anchors.update(words[anchor + 1])
        elif anchor + 1 == len(words) > 1 and isinstance(words[anchor - 1], frozenset):
            self.keys_before_anchors.update(words[anchor - 1])
        test = words[anchor]
        if isinstance(test, str):
            self.by_prefix.setdefault(len(test), {}).setdefault(test, []).append(pattern)
        else:
            for key in test:
                self.by_key.setdefault(key, []).append(pattern)

    def _word_test(self, term: str, word: str) -> _WordTest:
        if word in _SENTENCE_ENDS:
            raise ValueError(f"Bad term {term!r}: a sentence break inside")
        if word.endswith("*"):
            prefix = fold(word[:-1])
            if "*" in prefix or len(prefix) < MIN_PREFIX_LENGTH:
                raise ValueError(f"Bad term {term!r}: a prefix is 3 letters or more, then '*'")
            return prefix
        if "*" in word:
            raise ValueError(f"Bad term {term!r}: '*' may only end a word")
        return _word_keys(self.language, word)

    def read(self, chunk: str) -> tuple[_Token, ...]:
        """The tokens of a chunk of text never seen before, as written: "Colis," or "colis"."""
        read = tuple(
            _SENTENCE_END if word in _SENTENCE_ENDS else self.tokens.get(word) or self.learn(word)
            for word in _TOKEN.findall(chunk.lower())
        )
        if len(self.chunks) >= _CACHE_LIMIT:
            self.chunks.clear()
        self.chunks[chunk] = read
        return read

    def learn(self, word: str) -> _Token:
        """Work out, once, which terms are anchored on a word never seen before."""
        keys = _word_keys(self.language, word)
        folded = fold(word)
        anchored = [p for key in sorted(keys) for p in self.by_key.get(key, ())]
        for length, prefixes in self.by_prefix.items():
            anchored.extend(prefixes.get(folded[:length], ()))
        singles, others = [], []
        by_next: dict[str, list[_Pattern]] = {}
        by_previous: dict[str, list[_Pattern]] = {}
        for pattern in dict.fromkeys(anchored):
            if len(pattern.words) == 1:
                singles.append(pattern)
                continue
            if pattern.anchor + 1 < len(pattern.words):
                neighbour, grouped = pattern.words[pattern.anchor + 1], by_next
            else:
                neighbour, grouped = pattern.words[pattern.anchor - 1], by_previous
            if isinstance(neighbour, str):
                others.append(pattern)
            else:
                for key in neighbour:
                    grouped.setdefault(key, []).append(pattern)
        token = _Token(
            surface=word,
            keys=keys,
            folded=folded,
            anchors=bool(anchored),
            singles=tuple(singles),
            phrased=bool(by_next or by_previous or others),
            by_next={key: tuple(patterns) for key, patterns in by_next.items()},
            by_previous={key: tuple(patterns) for key, patterns in by_previous.items()},
            others=tuple(others),
            follows=not keys.isdisjoint(self.keys_after_anchors),
            precedes=not keys.isdisjoint(self.keys_before_anchors),
        )
        if len(self.tokens) >= _CACHE_LIMIT:
            self.tokens.clear()
        self.tokens[word] = token
        return token


# Where a topic's term occurred: its first token, minus the token after its last (so that at
# one place the longest sorts first), its words as written, and the number of its sentence.
_Occurrence = tuple[int, int, str, int]


class TopicMatcher:
    """Finds the topics a text speaks of. Compiles its specs once; `match` is then cheap."""

    def __init__(self, specs: Iterable[TopicSpec]) -> None:
        specs = list(specs)
        codes = [spec.code for spec in specs]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"Duplicate topic codes: {', '.join(duplicates)}")
        self.codes: tuple[str, ...] = tuple(codes)
        self.version: str = _specs_version(specs)
        self._indexes = {language: _LanguageIndex(language) for language in LANGUAGES}
        for topic, spec in enumerate(specs):
            for is_exclusion, terms_by_language in ((False, spec.terms), (True, spec.exclusions)):
                for language, terms in terms_by_language.items():
                    index = self._indexes.get(language)
                    if index is None:
                        continue  # a language the engine does not read yet
                    for term in terms:
                        index.add(term, topic, is_exclusion)

    def match(self, text: str, language: str) -> tuple[TopicMatch, ...]:
        """The topics whose own terms occur in the text, in order of first occurrence.

        Only the topics that matched are returned, never their parents: callers roll up.
        `language` is "fr" or "en"; anything else ("other") tries the terms of both. The text
        is expected to be plain: callers strip markup first.
        """
        if "\n" in text:
            text = text.replace("\n", " . ")  # a line break ends a sentence too
        chunks = text.split()
        if not chunks:
            return ()
        if language in self._indexes:
            indexes: Iterable[_LanguageIndex] = (self._indexes[language],)
        else:
            indexes = self._indexes.values()
        found: dict[int, list[_Occurrence]] = {}
        excluded: set[tuple[int, int]] = set()  # (topic, sentence)
        for index in indexes:
            known = index.chunks
            tokens = list(chain.from_iterable([known.get(c) or index.read(c) for c in chunks]))
            _scan(tokens, found, excluded)
        matches = []
        for topic, occurrences in found.items():
            if excluded:
                occurrences = [o for o in occurrences if (topic, o[3]) not in excluded]
                if not occurrences:
                    continue
            if len(occurrences) == 1:
                matches.append((occurrences[0][0], topic, (occurrences[0][2],)))
            else:
                occurrences.sort()
                matches.append((occurrences[0][0], topic, _words(occurrences)))
        matches.sort()
        return tuple([TopicMatch(self.codes[topic], words) for _, topic, words in matches])


def _words(occurrences: list[_Occurrence]) -> tuple[str, ...]:
    """The distinct words of sorted occurrences, leaving out terms inside a longer one."""
    words: list[str] = []
    covered_until = -1
    for _, minus_end, surface, _ in occurrences:
        # At one place the longest comes first and hides the shorter terms inside it.
        if -minus_end <= covered_until:
            continue
        covered_until = -minus_end
        if surface not in words:
            words.append(surface)
    return tuple(words[:MAX_WORDS])


def _scan(
    tokens: list[_Token], found: dict[int, list[_Occurrence]], excluded: set[tuple[int, int]]
) -> None:
    """Record in `found` and `excluded` the terms of one language that occur in the tokens."""
    last = len(tokens) - 1
    sentence = 0
    for position, token in enumerate(tokens):
        if not token.anchors:
            continue
        if token is _SENTENCE_END:
            sentence += 1
            continue
        for pattern in token.singles:
            if pattern.is_exclusion:
                excluded.add((pattern.topic, sentence))
            elif pattern.topic in found:
                found[pattern.topic].append((position, -position - 1, token.surface, sentence))
            else:
                found[pattern.topic] = [(position, -position - 1, token.surface, sentence)]
        if not token.phrased:
            continue
        # A two-word phrase found by the neighbour of its anchor is already whole.
        candidates = (
            [p for p in token.others if _phrase_at(tokens, position, p)] if token.others else []
        )
        if token.by_next and position < last:
            following = tokens[position + 1]
            if following.follows:
                for key in following.keys:
                    for pattern in token.by_next.get(key, ()):
                        if len(pattern.words) == 2 or _phrase_at(tokens, position, pattern):
                            candidates.append(pattern)
        if token.by_previous and position > 0:
            preceding = tokens[position - 1]
            if preceding.precedes:
                for key in preceding.keys:
                    for pattern in token.by_previous.get(key, ()):
                        if len(pattern.words) == 2 or _phrase_at(tokens, position, pattern):
                            candidates.append(pattern)
        for pattern in candidates:
            if pattern.is_exclusion:
                excluded.add((pattern.topic, sentence))
                continue
            start = position - pattern.anchor
            end = start + len(pattern.words)
            surface = " ".join(token.surface for token in tokens[start:end])
            found.setdefault(pattern.topic, []).append((start, -end, surface, sentence))


def _phrase_at(tokens: list[_Token], position: int, pattern: _Pattern) -> bool:
    """Whether the phrase is there with its anchor at this position."""
    start = position - pattern.anchor
    if start < 0 or start + len(pattern.words) > len(tokens):
        return False
    for at, test in enumerate(pattern.words):
        if at == pattern.anchor:
            continue
        token = tokens[start + at]
        if isinstance(test, str):
            if not token.folded.startswith(test):
                return False
        elif test.isdisjoint(token.keys):
            return False
    return True


def _specs_version(specs: list[TopicSpec]) -> str:
    """A short hash of everything that decides matches, stored next to each result."""
    canonical = [
        MATCHING_REVISION,
        [
            [
                spec.code,
                spec.parent,
                {language: list(terms) for language, terms in sorted(spec.terms.items())},
                {language: list(terms) for language, terms in sorted(spec.exclusions.items())},
            ]
            for spec in specs
        ],
    ]
    payload = json.dumps(canonical, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]
