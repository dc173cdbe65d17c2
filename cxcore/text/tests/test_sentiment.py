"""The sentiment model: features, lexicon rules, batch scoring, artefact, training, adapting."""

import json
from unittest import TestCase

import numpy as np

from cxcore.text import sentiment, train
from cxcore.text.sentiment import LanguageModel, Lexicon, SentimentModel, features, fold, tokens
from cxcore.text.train import Example, adapt, evaluate, scores

LEXICON = Lexicon.from_lines(
    [
        "# test lexicon",
        "bon\t1.5",
        "mauvais\t-2",
        "aucun problème\t2",
        "très\tINTENSIFIER",
        "un peu\tDAMPENER",
        "pas\tNEGATION",
        "mais\tCONTRAST",
        "😡\t-3",
    ]
)


class FoldAndTokens(TestCase):
    def test_accents_case_apostrophes_and_ligatures_are_folded(self):
        self.assertEqual(fold("Très DÉÇUE’ Œuvre"), "tres decue' oeuvre")

    def test_rare_accents_are_folded_too_and_emoji_kept(self):
        self.assertEqual(fold("Łódź ō 😡"), "łodz o 😡")

    def test_tokens_keep_words_punctuation_runs_emoji_and_emoticons(self):
        self.assertEqual(
            tokens("Super!!! Pas reçu :( 😡 <3"),
            ["super", "!!!", "pas", "recu", ":(", "😡", "<3"],
        )


class LexiconRules(TestCase):
    def scores(self, text):
        positive, negative, *_ = sentiment.lexicon_scores(tokens(text), LEXICON)
        return positive, negative

    def test_words_add_their_valence(self):
        self.assertEqual(self.scores("bon bon"), (3.0, 0.0))
        self.assertEqual(self.scores("mauvais"), (0.0, 2.0))

    def test_negation_turns_a_word_around_and_softens_it(self):
        positive, negative = self.scores("pas bon")
        self.assertEqual(positive, 0.0)
        self.assertAlmostEqual(negative, 0.9)

    def test_negation_scope_ends_at_punctuation(self):
        self.assertEqual(self.scores("pas. bon"), (1.5, 0.0))

    def test_a_phrase_is_read_as_written_not_negated(self):
        self.assertEqual(self.scores("aucun problème"), (2.0, 0.0))

    def test_intensifier_and_dampener(self):
        self.assertEqual(self.scores("très bon"), (2.25, 0.0))
        self.assertEqual(self.scores("un peu mauvais"), (0.0, 1.0))

    def test_what_follows_a_contrast_weighs_more(self):
        positive, negative = self.scores("bon mais mauvais")
        self.assertEqual((positive, negative), (0.75, 3.0))

    def test_emoji_carry_valence(self):
        self.assertEqual(self.scores("😡"), (0.0, 3.0))

    def test_strongest_valences_and_the_last_sentence_are_kept(self):
        _, _, strongest_positive, strongest_negative, last, _ = sentiment.lexicon_scores(
            tokens("bon, très bon. mauvais bon !"), LEXICON
        )
        self.assertEqual((strongest_positive, strongest_negative), (2.25, 2.0))
        self.assertEqual(last, -0.5)

    def test_lexical_features_are_scaled(self):
        _, lexical = features("très bon", LEXICON)
        self.assertEqual(len(lexical), len(sentiment.LEXICAL_FEATURES))
        self.assertAlmostEqual(lexical[0], 2.25 / 3**0.5)
        self.assertEqual(lexical[1], 0.0)
        self.assertEqual((lexical[2], lexical[4]), (0.75, 0.75))

    def test_negated_words_become_their_own_features(self):
        grams, _ = features("pas bon", LEXICON)
        self.assertIn("~bon", grams)
        self.assertIn("pas ~bon", grams)
        self.assertNotIn("bon", grams)

    def test_modifier_lines_and_comments_are_parsed(self):
        self.assertEqual(LEXICON.negations, frozenset({"pas"}))
        self.assertEqual(LEXICON.dampeners, frozenset({"peu"}))
        self.assertEqual(LEXICON.contrasts, frozenset({"mais"}))


def tiny_model() -> SentimentModel:
    vocabulary = {"bon": 0, "mauvais": 1, "service": 2}
    weights = np.array(
        [
            [-1.0, 0.0, 1.0],
            [1.0, 0.0, -1.0],
            [0.0, 0.5, 0.0],
            [0.0, 0.0, 0.5],  # lexicon: positive
            [0.5, 0.0, 0.0],  # lexicon: negative
            [0.0, 0.0, 0.0],  # strongest positive, strongest negative, last sentence
            [0.0, 0.0, 0.0],
            [-0.2, 0.0, 0.2],
        ]
    )
    part = LanguageModel(vocabulary, weights, np.array([0.0, 0.2, 0.1]), LEXICON)
    return SentimentModel(version="tiny", languages={"fr": part})


class VectorisedScoring(TestCase):
    def test_logits_are_the_scaled_sum_of_the_grams_weights_plus_lexicon(self):
        model = tiny_model()
        logits = model.languages["fr"].logits(["bon service"])[0]
        grams, lexical = features("bon service", LEXICON)
        found = [g for g in grams if g in model.languages["fr"].vocabulary]
        self.assertEqual(found, ["bon", "service"])
        expected = (
            np.array([0.0, 0.2, 0.1])
            + (np.array([-1.0, 0.0, 1.0]) + np.array([0.0, 0.5, 0.0])) / np.sqrt(2)
            + lexical[0] * np.array([0.0, 0.0, 0.5])
            + lexical[1] * np.array([0.5, 0.0, 0.0])
            + lexical[4] * np.array([-0.2, 0.0, 0.2])
        )
        np.testing.assert_allclose(logits, expected)

    def test_a_batch_scores_each_text_as_it_would_alone(self):
        model = tiny_model()
        texts = ["bon", "", "mauvais service", "rien", "bon bon mauvais"]
        batch = model.languages["fr"].logits(texts)
        for row, text in enumerate(texts):
            np.testing.assert_allclose(batch[row], model.languages["fr"].logits([text])[0])

    def test_a_text_without_known_or_lexicon_words_gets_the_bias(self):
        model = tiny_model()
        np.testing.assert_allclose(model.languages["fr"].logits(["xyz"])[0], [0.0, 0.2, 0.1])

    def test_predict_gives_a_label_and_a_score_between_minus_one_and_one(self):
        model = tiny_model()
        (label, score), (label2, score2) = model.predict(["bon", "mauvais"], ["fr", "fr"])
        self.assertEqual((label, label2), ("positive", "negative"))
        self.assertTrue(0 < score <= 1 and -1 <= score2 < 0)
        self.assertEqual(model.predict([], []), [])

    def test_other_languages_average_every_language_model(self):
        model = tiny_model()
        np.testing.assert_allclose(model.logits(["bon"], ["other"]), model.logits(["bon"], ["fr"]))


class Artefact(TestCase):
    def test_round_trip_through_json_keeps_predictions(self):
        model = tiny_model()
        again = SentimentModel.from_artefact(json.loads(json.dumps(model.to_artefact())))
        self.assertEqual(again.version, "tiny")
        texts = ["bon service", "mauvais", "pas bon"]
        self.assertEqual(model.predict(texts, ["fr"] * 3), again.predict(texts, ["fr"] * 3))

    def test_a_foreign_artefact_is_refused_with_a_reason(self):
        with self.assertRaisesRegex(ValueError, "format 1"):
            SentimentModel.from_artefact({"format": 2})
        artefact = tiny_model().to_artefact()
        artefact["languages"]["fr"]["vocabulary"].append("extra")
        with self.assertRaisesRegex(ValueError, "do not match"):
            SentimentModel.from_artefact(artefact)


POSITIVE_TEXTS = ["très bon service", "bon accueil", "service bon et rapide", "vraiment bon"]
NEGATIVE_TEXTS = ["mauvais service", "très mauvais accueil", "service lent et mauvais", "pas bon"]


def generic_examples(copies=5):
    examples = []
    for _ in range(copies):
        examples += [Example(t, "fr", "positive") for t in POSITIVE_TEXTS]
        examples += [Example(t, "fr", "negative") for t in NEGATIVE_TEXTS]
        examples.append(Example("service", "fr", "neutral"))
    return examples


class Training(TestCase):
    def test_a_trained_model_learns_its_examples(self):
        model = train.train(generic_examples(), version="t1")
        labels = [label for label, _ in model.predict(POSITIVE_TEXTS + NEGATIVE_TEXTS, ["fr"] * 8)]
        self.assertEqual(labels, ["positive"] * 4 + ["negative"] * 4)

    def test_adapting_learns_the_company_words_and_keeps_the_rest(self):
        base = train.train(generic_examples(), version="base")
        # At this company "bloqué" is what customers say when things go wrong.
        company = [Example(f"carte bloquée {n}", "fr", "negative") for n in range(12)]
        company += [Example(f"virement reçu {n}", "fr", "positive") for n in range(12)]
        adapted = adapt(base, company, version="adapted")
        before = base.predict(["carte bloquée"], ["fr"])[0][1]
        after = adapted.predict(["carte bloquée"], ["fr"])[0]
        self.assertEqual(after[0], "negative")
        self.assertLess(after[1], before - 0.3)
        self.assertEqual(adapted.predict(["virement reçu"], ["fr"])[0][0], "positive")
        self.assertEqual(adapted.predict(["très mauvais accueil"], ["fr"])[0][0], "negative")
        again = SentimentModel.from_artefact(json.loads(json.dumps(adapted.to_artefact())))
        self.assertEqual(
            again.predict(["carte bloquée", "bon accueil"], ["fr", "fr"]),
            adapted.predict(["carte bloquée", "bon accueil"], ["fr", "fr"]),
        )

    def test_adapting_with_one_class_only_trains_nothing(self):
        base = train.train(generic_examples(), version="base")
        only_praise = [Example(f"merci {n}", "fr", "positive") for n in range(10)]
        self.assertIsNone(adapt(base, only_praise, version="x"))

    def test_the_train_command_writes_a_loadable_reproducible_artefact(self):
        import argparse
        import contextlib
        import io
        import tempfile
        from pathlib import Path

        rows = ["text,rating,date"]
        for n in range(40):
            rows.append(f"Livraison rapide et produit parfait {n},5,2026-01-01")
            rows.append(f"Colis abîmé et service client injoignable {n},1,2026-01-01")
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "fr_shop.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
            outputs, printed = [], []
            for run in ("a", "b"):
                output = Path(directory, f"model-{run}.json")
                args = argparse.Namespace(data=directory, output=str(output), version=None)
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    self.assertEqual(train.main(args), 0)
                outputs.append(output.read_bytes())
                printed.append(out.getvalue())
            self.assertEqual(outputs[0], outputs[1])  # same data, same artefact, same version
            model = SentimentModel.from_artefact(json.loads(outputs[0]))
            self.assertTrue(model.version.startswith("reviews-"))
            self.assertIn(f"Trained {model.version}", printed[0])
            self.assertIn("fr: held out", printed[0])
            self.assertEqual(
                [
                    label
                    for label, _ in model.predict(["produit parfait", "colis abîmé"], ["fr"] * 2)
                ],
                ["positive", "negative"],
            )
            Path(directory, "fr_shop.csv").write_text("text,rating\nBien,9\n", encoding="utf-8")
            errors = io.StringIO()
            with contextlib.redirect_stderr(errors):
                self.assertEqual(train.main(args), 2)
            self.assertIn("fr_shop.csv, line 2: rating must be 1 to 5", errors.getvalue())

    def test_the_held_out_split_is_a_stable_hash(self):
        self.assertEqual(train.held_out("Livraison rapide"), train.held_out("Livraison rapide"))
        share = sum(train.held_out(f"texte {n}") for n in range(5000)) / 5000
        self.assertAlmostEqual(share, 0.2, delta=0.02)

    def test_stars_become_labels(self):
        self.assertEqual(
            [train.label_from_stars(s) for s in range(1, 6)],
            ["negative", "negative", "neutral", "positive", "positive"],
        )


class Figures(TestCase):
    def test_scores_match_hand_computed_values(self):
        gold = ["positive", "positive", "negative", "negative", "negative"]
        predicted = ["positive", "negative", "negative", "negative", "positive"]
        figures = scores(gold, predicted, ("negative", "positive"))
        self.assertEqual(figures["accuracy"], 0.6)
        # negative: precision 2/3, recall 2/3; positive: precision 1/2, recall 1/2.
        self.assertAlmostEqual(figures["classes"]["negative"]["f1"], 0.6667, places=4)
        self.assertEqual(figures["classes"]["positive"]["f1"], 0.5)
        self.assertAlmostEqual(figures["macro_f1"], 0.5833, places=3)

    def test_polarity_leaves_neutral_out_and_reads_the_score_sign(self):
        examples = [
            Example("a", "fr", "positive"),
            Example("b", "fr", "negative"),
            Example("c", "fr", "neutral"),
        ]

        def predict(texts, languages):
            return [("neutral", 0.2), ("neutral", -0.1), ("positive", 0.9)]

        figures = evaluate(None, examples, predict=predict)
        self.assertEqual(figures["polarity"]["n"], 2)
        self.assertEqual(figures["polarity"]["accuracy"], 1.0)
        self.assertEqual(figures["three_class"]["accuracy"], 0.0)

    def test_review_files_with_a_bad_rating_are_refused_with_file_and_line(self):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "fr_test.csv").write_text(
                "text,rating\nBien,5\nNul,six\n", encoding="utf-8"
            )
            with self.assertRaisesRegex(ValueError, r"fr_test.csv, line 3: rating must be 1 to 5"):
                train.read_reviews(Path(directory))
            with self.assertRaisesRegex(FileNotFoundError, "No <language>"):
                train.read_reviews(Path(directory, "none"))
