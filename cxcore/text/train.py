"""Training and evaluating the sentiment model: the shipped one, and a company's adaptation.

`cxcore text train` (or `make train-text`) reads French and English reviews with star ratings
(`<language>_<name>.csv`, columns text and rating) and writes `data/sentiment.json`. The split
between training and held-out reviews is a hash of each text, so it is the same on every
machine and does not move when a file gains rows; bench/text.py measures on the held-out part.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sentiment import (
    CLASSES,
    DATA_DIR,
    LEXICAL_FEATURES,
    LanguageModel,
    SentimentModel,
    features,
    lexicon,
)
from .types import NEGATIVE, NEUTRAL, POSITIVE

ARTEFACT = DATA_DIR / "sentiment.json"
# Found by cross-validation on the training part (notes in docs/text.md); fixed for
# reproducibility.
REGULARISATION = 4.0
# An n-gram must occur in this many training texts to get a weight: rarer ones are noise and
# would make the artefact large.
MIN_DOCUMENTS = 2
HELD_OUT_SHARE = 5  # one text in five is held out


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    language: str
    label: str  # negative, neutral, positive


def label_from_stars(stars: int) -> str:
    return POSITIVE if stars >= 4 else NEGATIVE if stars <= 2 else NEUTRAL


def held_out(text: str, share: int = HELD_OUT_SHARE) -> bool:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % share == 0


def read_reviews(directory: Path) -> list[Example]:
    """Every `<language>_*.csv` file of the directory, as examples."""
    examples: list[Example] = []
    files = sorted(Path(directory).glob("*_*.csv"))
    if not files:
        raise FileNotFoundError(f"No <language>_<name>.csv review files in {directory}.")
    for path in files:
        language = path.name.split("_", 1)[0]
        with path.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                text = (row.get("text") or "").strip()
                try:
                    stars = int(row["rating"])
                except (KeyError, TypeError, ValueError):
                    raise ValueError(f"{path.name}, line {line}: rating must be 1 to 5.") from None
                if not 1 <= stars <= 5:
                    raise ValueError(f"{path.name}, line {line}: rating must be 1 to 5.")
                if text:
                    examples.append(Example(text, language, label_from_stars(stars)))
    return examples


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    training, held = [], []
    for example in examples:
        (held if held_out(example.text) else training).append(example)
    return training, held


# -- fitting ---------------------------------------------------------------------------------


def _design(texts: Sequence[str], vocabulary: dict[str, int], lex):
    """The training matrix, built exactly as LanguageModel.logits reads texts at run time."""
    from scipy.sparse import csr_matrix, hstack

    rows, columns, values = [], [], []
    lexical = np.zeros((len(texts), len(LEXICAL_FEATURES)))
    for row, text in enumerate(texts):
        grams, lexical[row] = features(text, lex)
        found = [vocabulary[g] for g in grams if g in vocabulary]
        if found:
            weight = len(found) ** -0.5
            rows.extend([row] * len(found))
            columns.extend(found)
            values.extend([weight] * len(found))
    # Repeated grams add up at run time (np.add.reduceat); csr_matrix sums duplicates alike.
    grams = csr_matrix((values, (rows, columns)), shape=(len(texts), len(vocabulary)))
    return hstack([grams, csr_matrix(lexical)]).tocsr()


def _vocabulary(texts: Sequence[str], lex) -> dict[str, int]:
    documents: Counter[str] = Counter()
    for text in texts:
        documents.update(set(features(text, lex)[0]))
    kept = sorted(gram for gram, count in documents.items() if count >= MIN_DOCUMENTS)
    return {gram: index for index, gram in enumerate(kept)}


def _balanced(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each example's class column, and weights that give every class the same total."""
    columns = np.array([CLASSES.index(label) for label in labels])
    counts = np.bincount(columns, minlength=3)
    present = np.count_nonzero(counts)
    weights = len(columns) / (present * np.maximum(counts, 1))
    return columns, weights[columns]


def _fit(matrix, labels: Sequence[str], regularisation: float, offset: np.ndarray | None = None):
    """Multinomial logistic regression, classes balanced; returns (weights, bias).

    `offset` holds another model's scores, added before the softmax and never changed: the fit
    then learns only what the examples say beyond that model (scikit-learn has no offsets).
    """
    from scipy.optimize import minimize

    rows, features_count = matrix.shape
    columns, sample_weights = _balanced(labels)
    targets = np.zeros((rows, 3))
    targets[np.arange(rows), columns] = 1.0
    absent = np.bincount(columns, minlength=3) == 0
    offset = np.zeros((rows, 3)) if offset is None else offset
    penalty = 1.0 / regularisation

    def loss(flat):
        weights = flat[:-3].reshape(features_count, 3)
        bias = np.where(absent, -10.0, flat[-3:])  # a class never seen is never predicted
        logits = matrix @ weights + bias + offset
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
        log_probabilities = logits - log_norm
        value = -(sample_weights * (targets * log_probabilities).sum(axis=1)).sum()
        value += 0.5 * penalty * (weights**2).sum()
        residual = (np.exp(log_probabilities) - targets) * sample_weights[:, None]
        gradient_weights = matrix.T @ residual + penalty * weights
        gradient_bias = np.where(absent, 0.0, residual.sum(axis=0))
        return value, np.concatenate([np.asarray(gradient_weights).ravel(), gradient_bias])

    start = np.zeros(features_count * 3 + 3)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    weights = result.x[:-3].reshape(features_count, 3)
    bias = np.where(absent, -10.0, result.x[-3:])
    return weights, bias


def fit_language(
    texts: Sequence[str],
    labels: Sequence[str],
    language: str,
    *,
    regularisation: float = REGULARISATION,
    offset: np.ndarray | None = None,
) -> LanguageModel:
    lex = lexicon(language)
    vocabulary = _vocabulary(texts, lex)
    matrix = _design(texts, vocabulary, lex)
    weights, bias = _fit(matrix, labels, regularisation, offset)
    return LanguageModel(vocabulary, weights, bias, lex)


def train(examples: Sequence[Example], *, version: str) -> SentimentModel:
    by_language: dict[str, list[Example]] = {}
    for example in examples:
        by_language.setdefault(example.language, []).append(example)
    languages = {}
    for language, items in sorted(by_language.items()):
        languages[language] = fit_language(
            [e.text for e in items], [e.label for e in items], language
        )
    return SentimentModel(version=version, languages=languages)


# Weaker than the base model's: a company's few hundred comments should move the model only
# where they agree with each other.
ADAPTER_REGULARISATION = 2.0


def adapt(
    base: SentimentModel, examples: Sequence[Example], *, version: str
) -> SentimentModel | None:
    """The base model plus what the company's own examples teach beyond it.

    The adapter is fitted with the base model's scores as a fixed offset, so words the
    company's comments do not use keep the base model's reading, and the company's own
    vocabulary ("carte bloquée" at a bank) gets the weight its customers give it. Returns None
    when the examples cannot teach anything (a single class).
    """
    # A new adaptation replaces the previous one rather than stacking on it.
    base = SentimentModel(version=base.version, languages=base.languages)
    by_language: dict[str, list[Example]] = {}
    for example in examples:
        by_language.setdefault(example.language, []).append(example)
    parts = {}
    for language, items in sorted(by_language.items()):
        if len({e.label for e in items}) < 2:
            continue
        texts = [e.text for e in items]
        parts[language] = fit_language(
            texts,
            [e.label for e in items],
            language,
            regularisation=ADAPTER_REGULARISATION,
            offset=base.logits(texts, [language] * len(texts)),
        )
    if not parts:
        return None
    return SentimentModel(
        version=version,
        languages=base.languages,
        adapter=SentimentModel(version=version, languages=parts),
    )


# -- evaluating ------------------------------------------------------------------------------


def _f1(gold: list[str], predicted: list[str], label: str) -> tuple[float, float, float, int]:
    true_positive = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
    predicted_count = sum(1 for p in predicted if p == label)
    support = sum(1 for g in gold if g == label)
    precision = true_positive / predicted_count if predicted_count else 0.0
    recall = true_positive / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, support


def scores(gold: list[str], predicted: list[str], labels: Sequence[str]) -> dict:
    per_class = {}
    for label in labels:
        precision, recall, f1, support = _f1(gold, predicted, label)
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    present = [label for label in labels if per_class[label]["support"]]
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "macro_f1": (
            round(sum(per_class[label]["f1"] for label in present) / len(present), 4)
            if present
            else 0.0
        ),
        "classes": per_class,
    }


def evaluate(model, examples: Sequence[Example], predict=None) -> dict:
    """Polarity (neutral reviews left out; positive vs negative) and three-class figures.

    `predict(texts, languages) -> list[(label, score)]` defaults to the model's; bench/text.py
    passes the baselines' through the same scoring.
    """
    predict = predict or model.predict
    texts = [e.text for e in examples]
    results = predict(texts, [e.language for e in examples])
    gold = [e.label for e in examples]
    three = [label for label, _ in results]
    polar = [i for i, label in enumerate(gold) if label != NEUTRAL]
    # Polarity is the sign of the score: the model's leaning even when it says "neutral".
    polarity = [POSITIVE if results[i][1] >= 0 else NEGATIVE for i in polar]
    return {
        "polarity": scores([gold[i] for i in polar], polarity, (NEGATIVE, POSITIVE)),
        "three_class": scores(gold, three, CLASSES),
    }


def model_fingerprint(training: Sequence[Example]) -> str:
    """A version that changes with the data, the lexicons and the settings, and only then."""
    digest = hashlib.blake2b(digest_size=4)
    for example in sorted(training, key=lambda e: (e.language, e.text, e.label)):
        digest.update(f"{example.language}\t{example.label}\t{example.text}\n".encode())
    for language in sorted({e.language for e in training}):
        digest.update("\n".join(lexicon(language).lines).encode())
    digest.update(f"{REGULARISATION}/{MIN_DOCUMENTS}/{LEXICAL_FEATURES}".encode())
    return "reviews-" + digest.hexdigest()


def main(args) -> int:
    data = Path(args.data)
    output = Path(args.output) if args.output else ARTEFACT
    try:
        examples = read_reviews(data)
    except (OSError, ValueError) as error:
        print(f"cxcore text train: {error}", file=sys.stderr)
        return 2
    training, held = split(examples)
    version = args.version or model_fingerprint(training)
    artefact = train(training, version=version).to_artefact()
    output.write_text(
        json.dumps(artefact, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    # The figures are those of what ships: the artefact as written (weights rounded).
    model = SentimentModel.from_artefact(artefact)
    print(f"Trained {version} on {len(training):,} reviews; wrote {output}.")
    for language in sorted(model.languages):
        part = [e for e in held if e.language == language]
        figures = evaluate(model, part)
        print(
            f"  {language}: held out {len(part):,}, polarity accuracy "
            f"{figures['polarity']['accuracy']:.3f}, macro-F1 {figures['polarity']['macro_f1']:.3f}"
            f"; three classes macro-F1 {figures['three_class']['macro_f1']:.3f}"
        )
    return 0
