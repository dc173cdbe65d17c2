"""Text understanding: sentiment quality against the packaged baselines, and speed on one core.

Quality is measured on the held-out part of the review files (`../shared/data/reviews/` by
default: the part `cxcore text train` never saw; ratings 4-5 positive, 1-2 negative, 3
neutral). Beside cxcore's model, in the same run: VADER (English), its French port
vaderSentiment-fr and textblob-fr (French), and a plain TF-IDF + logistic regression trained on
the same training part. Polarity leaves the neutral reviews out and reads the sign of each
method's score; the three-class figures use each method's own label.

Speed: the whole engine (cleaning, language, sentiment, topics, complaint sentences) over the
held-out texts, repeated, on one core, in batches of 1,000 and one at a time; beside it the
bare reference of the same run: lowercasing and tokenising the same texts with one regex.

    .venv/bin/python bench/text.py [--data DIR] [--repeat N]

Run it with another directory of `<language>_<name>.csv` files (text, rating) to measure on
reviews the model was never trained on: then every row is used (`--all`), not just the
held-out part. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import os

# One core, and numpy's BLAS on it alone: the target is per core.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import table  # noqa: E402

from cxcore.text import engine  # noqa: E402
from cxcore.text.train import evaluate, read_reviews, split  # noqa: E402
from cxcore.text.types import NEGATIVE, NEUTRAL, POSITIVE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_QUALITY = 0.92
TARGET_SPEED = 5000


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "reviews"))
    parser.add_argument("--all", action="store_true", help="measure on every row, not held-out")
    parser.add_argument("--repeat", type=int, default=20, help="copies of the texts for speed")
    return parser.parse_args(argv)


def label_of(score: float, margin: float) -> str:
    return POSITIVE if score >= margin else NEGATIVE if score <= -margin else NEUTRAL


# -- baselines, each as predict(texts, languages) -> [(label, score)] -------------------------


def vader_english():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer()

    def predict(texts, languages):
        out = []
        for text in texts:
            score = analyser.polarity_scores(text)["compound"]
            out.append((label_of(score, 0.05), score))  # the authors' thresholds
        return out

    return predict


def vader_french():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fuzzywuzzy's note about its slow pure-Python path
        from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer

        analyser = SentimentIntensityAnalyzer()

    def predict(texts, languages):
        out = []
        for text in texts:
            score = analyser.polarity_scores(text)["compound"]
            out.append((label_of(score, 0.05), score))
        return out

    return predict


def textblob_french():
    from textblob import Blobber
    from textblob_fr import PatternAnalyzer, PatternTagger

    blob = Blobber(pos_tagger=PatternTagger(), analyzer=PatternAnalyzer())

    def predict(texts, languages):
        out = []
        for text in texts:
            score = blob(text).sentiment[0]
            out.append((label_of(score, 0.1), score))
        return out

    return predict


def tfidf_logistic(training):
    """Word unigrams and bigrams, TF-IDF, logistic regression: the plain learnt baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    models = {}
    for language in sorted({e.language for e in training}):
        items = [e for e in training if e.language == language]
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(max_iter=5000, class_weight="balanced"),
        )
        model.fit([e.text for e in items], [e.label for e in items])
        models[language] = model

    def predict(texts, languages):
        model = models[languages[0]]
        classes = list(model.classes_)
        probabilities = model.predict_proba(texts)
        out = []
        for row in probabilities:
            positive = row[classes.index(POSITIVE)] if POSITIVE in classes else 0.0
            negative = row[classes.index(NEGATIVE)] if NEGATIVE in classes else 0.0
            out.append((classes[row.argmax()], float(positive - negative)))
        return out

    return predict


def cxcore_predict(texts, languages):
    return [(a.sentiment, a.score) for a in engine.analyse_batch(texts)]


# -- speed ------------------------------------------------------------------------------------


def rate(function, texts, batch: int | None) -> float:
    started = time.perf_counter()
    if batch is None:
        for text in texts:
            function([text])
    else:
        for start in range(0, len(texts), batch):
            function(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - started)


def main(argv=None) -> int:
    args = parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    examples = read_reviews(Path(args.data))
    training, held = (examples, examples) if args.all else split(examples)
    if args.all:
        training = []
    engine.analyse("warm up")  # load the model and taxonomy outside the timings

    tfidf = tfidf_logistic(training) if training else None
    baselines = {"en": {"vader": vader_english}, "fr": {"vader-fr": vader_french}}
    baselines["fr"]["textblob-fr"] = textblob_french

    results: dict = {"quality": {}, "speed": {}}
    quality_rows = [
        ["language", "method", "n", "pol. acc", "pol. macro-F1", "3-class macro-F1", "texts/s"]
    ]
    class_rows = [["language", "method", "class", "precision", "recall", "F1", "support"]]
    failures = []
    for language in sorted({e.language for e in held}):
        part = [e for e in held if e.language == language]
        candidates = {"cxcore": cxcore_predict}
        if tfidf is not None:
            candidates["tfidf+logreg"] = tfidf
        for name, make in baselines.get(language, {}).items():
            candidates[name] = make()
        results["quality"][language] = {}
        for name, predict in candidates.items():
            started = time.perf_counter()
            figures = evaluate(None, part, predict=predict)
            seconds = time.perf_counter() - started
            polarity, three = figures["polarity"], figures["three_class"]
            results["quality"][language][name] = {
                "n": three["n"],
                "polarity_accuracy": polarity["accuracy"],
                "polarity_macro_f1": polarity["macro_f1"],
                "three_class_macro_f1": three["macro_f1"],
                "polarity_classes": polarity["classes"],
                "three_classes": three["classes"],
                "texts_per_second": round(len(part) / seconds),
            }
            quality_rows.append(
                [
                    language,
                    name,
                    str(three["n"]),
                    f"{polarity['accuracy']:.3f}",
                    f"{polarity['macro_f1']:.3f}",
                    f"{three['macro_f1']:.3f}",
                    f"{len(part) / seconds:,.0f}",
                ]
            )
            if name == "cxcore":
                for kind, block in (("polarity", polarity), ("3-class", three)):
                    for label, cell in block["classes"].items():
                        class_rows.append(
                            [
                                language,
                                f"cxcore {kind}",
                                label,
                                f"{cell['precision']:.3f}",
                                f"{cell['recall']:.3f}",
                                f"{cell['f1']:.3f}",
                                str(cell["support"]),
                            ]
                        )
                for figure in ("accuracy", "macro_f1"):
                    if polarity[figure] < TARGET_QUALITY:
                        failures.append(
                            f"{language} polarity {figure} {polarity[figure]:.3f} "
                            f"< {TARGET_QUALITY}"
                        )

    texts = [e.text for e in held] * args.repeat
    token = re.compile(r"\w+")
    reference = rate(lambda batch: [token.findall(t.lower()) for t in batch], texts, 1000)
    batched = rate(engine.analyse_batch, texts, 1000)
    single = rate(engine.analyse_batch, texts[: len(texts) // 4], None)
    characters = sum(len(t) for t in texts) / len(texts)
    results["speed"] = {
        "texts": len(texts),
        "mean_characters": round(characters),
        "engine_batch_per_second": round(batched),
        "engine_single_per_second": round(single),
        "reference_tokenise_per_second": round(reference),
        "engine_vs_reference": round(batched / reference, 4),
        "cores": 1,
    }
    if batched < TARGET_SPEED:
        failures.append(f"engine {batched:,.0f} texts/s < {TARGET_SPEED:,}")

    print(f"Text understanding on {args.data} ({'every row' if args.all else 'held-out part'})\n")
    print(table(quality_rows))
    print()
    print(table(class_rows))
    print()
    print(
        table(
            [
                ["speed, one core", "texts/s", "vs reference"],
                ["lowercase + regex tokens (reference)", f"{reference:,.0f}", "1.00"],
                ["engine, batches of 1,000", f"{batched:,.0f}", f"{batched / reference:.3f}"],
                ["engine, one text at a time", f"{single:,.0f}", f"{single / reference:.3f}"],
            ]
        )
    )
    print(f"({len(texts):,} texts of {characters:.0f} characters on average)")
    for failure in failures:
        print(f"BELOW TARGET: {failure}")
    print(json.dumps(results, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
