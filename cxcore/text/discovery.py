"""Topic discovery: groups among the comments no topic matched, offered as candidate topics."""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from cxcore.text.topics import fold, stem
from cxcore.text.types import LANGUAGES

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

# Fixed, so that the same comments always give the same suggestions.
RANDOM_STATE = 0
KEYWORDS = 5
EXAMPLES = 3
# Above this many comments, MiniBatchKMeans: full KMeans gets slow and gains little.
MINI_BATCH_ABOVE = 5_000
# k is chosen on a sample this large: the silhouette needs all pairwise distances.
SILHOUETTE_SAMPLE = 1_500

_WORD = re.compile(r"[^\W\d_]{2,}")

# Both lists always apply: the comments left unmatched are often the ones in another language.
# Written without accents, as words are folded before they are looked up.
_STOPWORDS_WRITTEN = """
    a ai aie aient aies ait alors as au aucun aucune aupres aussi autre autres aux avaient avais
    avait avant avec avez aviez avions avoir avons ayant c ca car ce ceci cela celle celles celui
    ces cet cette ceux chaque chez ci comme comment d dans de des deja depuis donc dont du elle
    elles en encore entre es est et etaient etais etait etant ete etes etre eu eue eux fait fais
    faire fois font furent fut ici il ils j je jusqu l la le les leur leurs lors lui m ma mais me
    meme memes mes moi mon n ne ni nos notre nous on ont ou par parce pas peu peut plus pour
    pourquoi qu quand que quel quelle quelles quels qui quoi s sa sans se sera serait ses si
    sien soi soit son sont sous suis sur t ta te tes toi ton tous tout toute toutes tres trop tu
    un une vers voila vos votre vous y
    about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing don down during each few for from
    further get got had has have having he her here hers herself him himself his how i if in into
    is it its itself just ll me more most my myself no nor not now of off on once only or other
    our ours ourselves out over own re same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up ve very was
    we were what when where which while who whom why will with would you your yours yourself
    yourselves also even still really much many one im ive dont didnt doesnt cant wont isnt
"""
STOPWORDS = frozenset(_STOPWORDS_WRITTEN.split())


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A group of similar unmatched comments: a topic the taxonomy may be missing."""

    keywords: tuple[str, ...]  # the words that set the group apart, most telling first
    size: int  # how many comments it holds
    examples: tuple[int, ...]  # indexes into the texts given, most central first


def discover(
    texts: Sequence[str], *, language: str, max_topics: int = 8, min_size: int = 5
) -> list[Suggestion]:
    """Cluster the comments that matched no topic into suggestions, largest first.

    Words are folded and stripped of French and English stopwords; in French or English they
    are also stemmed, so that "livraisons" and "livraison" count as one, and shown in their most
    frequent written form. Groups smaller than `min_size` are left out.
    """
    if max_topics < 1 or min_size < 1:
        raise ValueError("max_topics and min_size must be at least 1")
    if len(texts) < min_size:
        return []
    analyzer = _Analyzer(language)
    vectorizer = TfidfVectorizer(analyzer=analyzer, min_df=2, sublinear_tf=True, dtype=np.float32)
    try:
        vectors = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no word left that occurs twice: nothing to group
        return []
    rows = np.flatnonzero(vectors.getnnz(axis=1))  # comments with at least one word left
    if len(rows) < min_size:
        return []
    vectors = vectors[rows]
    labels_of = analyzer.labels()
    terms = [labels_of.get(term, term) for term in vectorizer.get_feature_names_out()]

    distinct = _distinct_rows(vectors)
    cluster_count = min(max_topics, distinct, max(2, len(rows) // min_size))
    # OpenMP threads spin while they wait: on a busy server they slow KMeans down tenfold
    # for matrices this small, so it runs on one thread (scikit-learn ships threadpoolctl).
    with threadpool_limits(limits=1, user_api="openmp"), warnings.catch_warnings():
        # Near-identical comments make fewer distinct points than clusters; that is fine.
        warnings.simplefilter("ignore", ConvergenceWarning)
        if cluster_count >= 2:
            cluster_count = _best_cluster_count(vectors, cluster_count)
        labels, centres = _cluster(vectors, cluster_count)

    suggestions = []
    for cluster in range(cluster_count):
        members = np.flatnonzero(labels == cluster)
        if len(members) < min_size:
            continue
        centre = centres[cluster]
        top_terms = [int(term) for term in np.argsort(-centre, kind="stable")[:KEYWORDS]]
        keywords = tuple(terms[term] for term in top_terms if centre[term] > 0)
        closeness = vectors[members] @ centre
        order = members[np.argsort(-closeness, kind="stable")]
        examples = _distinct_examples(texts, rows[order])
        suggestions.append(Suggestion(keywords, len(members), examples))
    suggestions.sort(key=lambda suggestion: (-suggestion.size, suggestion.keywords))
    return suggestions


class _Analyzer:
    """Turns a comment into the words TF-IDF counts, and remembers how each was written."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else None
        self.terms: dict[str, str | None] = {}  # word as written (lowercased) -> term, if any
        self.written: Counter[str] = Counter()

    def __call__(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())
        self.written.update(words)
        terms = self.terms
        return [
            term
            for term in [terms[word] if word in terms else self._term(word) for word in words]
            if term is not None
        ]

    def _term(self, word: str) -> str | None:
        folded = fold(word)
        if folded in STOPWORDS:
            term = None
        elif self.language:
            term = stem(self.language, folded)
        else:
            term = folded
        self.terms[word] = term
        return term

    def labels(self) -> dict[str, str]:
        """Each term's most frequent written form, to show people words rather than stems."""
        best: dict[str, tuple[int, str]] = {}
        for word, count in self.written.items():
            term = self.terms.get(word)
            if term is not None and (count, word) > best.get(term, (0, "")):
                best[term] = (count, word)
        return {term: word for term, (_, word) in best.items()}


def _distinct_rows(vectors: csr_matrix) -> int:
    rows = {
        (vectors.indices[start:end].tobytes(), vectors.data[start:end].tobytes())
        for start, end in zip(vectors.indptr[:-1], vectors.indptr[1:], strict=True)
    }
    return len(rows)


def _best_cluster_count(vectors: csr_matrix, most: int) -> int:
    """The k from 2 to `most` whose clusters are best separated, by silhouette on a sample."""
    if most == 2:
        return 2
    rng = np.random.default_rng(RANDOM_STATE)
    if vectors.shape[0] > SILHOUETTE_SAMPLE:
        sample = vectors[np.sort(rng.choice(vectors.shape[0], SILHOUETTE_SAMPLE, replace=False))]
    else:
        sample = vectors
    # Rows are unit length: euclidean distances follow cosine ones, computed once for every k.
    similarity = (sample @ sample.T).toarray()
    distances = np.sqrt(np.clip(2 - 2 * similarity, 0, None))
    np.fill_diagonal(distances, 0)
    best_count, best_score = 2, -1.0
    for count in range(2, most + 1):
        labels = KMeans(count, n_init=2, random_state=RANDOM_STATE).fit_predict(sample)
        if not 2 <= len(set(labels)) < sample.shape[0]:
            continue
        score = silhouette_score(distances, labels, metric="precomputed")
        if score > best_score:
            best_count, best_score = count, score
    return best_count


def _cluster(vectors: csr_matrix, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels of the rows and the clusters' centres, unit length."""
    if count == 1:
        labels = np.zeros(vectors.shape[0], dtype=int)
        centres = np.asarray(vectors.mean(axis=0))
    else:
        if vectors.shape[0] > MINI_BATCH_ABOVE:
            model = MiniBatchKMeans(count, n_init=3, batch_size=4096, random_state=RANDOM_STATE)
        else:
            model = KMeans(count, n_init=4, random_state=RANDOM_STATE)
        labels = model.fit_predict(vectors)
        centres = np.asarray(model.cluster_centers_)
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    return labels, centres / np.where(norms > 0, norms, 1)


def _distinct_examples(texts: Sequence[str], ordered: np.ndarray) -> tuple[int, ...]:
    """The first few texts in order that are not copies of one already taken."""
    examples: list[int] = []
    seen: set[str] = set()
    for index in ordered:
        text = " ".join(texts[index].lower().split())
        if text not in seen:
            seen.add(text)
            examples.append(int(index))
            if len(examples) == EXAMPLES:
                break
    return tuple(examples)
