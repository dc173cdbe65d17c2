"""The engine's interface with the shipped model, lexicons and seed taxonomy: behaviour and
bad input (empty, huge, binary, markup, emoji only, all caps, mixed languages)."""

import os
import random
import time
from unittest import TestCase

from cxcore.text import engine
from cxcore.text.types import FLAG_BINARY, FLAG_EMPTY, FLAG_MARKUP, FLAG_MIXED, FLAG_TRUNCATED


class Reading(TestCase):
    def test_a_french_complaint(self):
        result = engine.analyse(
            "Commande reçue avec une semaine de retard et le colis était abîmé. "
            "Le service client ne répond jamais. Très déçue."
        )
        self.assertEqual(result.language, "fr")
        self.assertEqual(result.sentiment, "negative")
        self.assertLess(result.score, -0.5)
        self.assertIn("delivery.delay", result.topic_codes)
        self.assertIn("delivery.damaged", result.topic_codes)
        self.assertTrue(result.complaints)
        self.assertTrue(all(c in result.complaints[0] or c for c in result.complaints))
        self.assertEqual(result.model, engine.default_model().version)

    def test_an_english_compliment(self):
        result = engine.analyse("Great service, the staff were friendly and very helpful!")
        self.assertEqual((result.language, result.sentiment), ("en", "positive"))
        self.assertGreater(result.score, 0.5)
        self.assertEqual(result.complaints, ())

    def test_negation_is_understood(self):
        self.assertEqual(
            engine.analyse("Aucun problème, livraison parfaite.").sentiment, "positive"
        )
        self.assertEqual(engine.analyse("Not happy at all, never again.").sentiment, "negative")

    def test_complaints_are_sentences_of_the_text(self):
        text = "J'adore vos produits. Mais la livraison a pris trois semaines, inadmissible !"
        result = engine.analyse(text)
        self.assertLess(result.score, 0)  # praise and a complaint: it leans negative
        for sentence in result.complaints:
            self.assertIn(sentence, text)
        self.assertIn("inadmissible", result.complaints[0])

    def test_a_batch_reads_each_text_as_it_would_alone(self):
        texts = [
            "Très bien",
            "",
            "Livraison en retard",
            "Great app",
            "😡😡😡",
            "Service client injoignable, je suis furieux.",
        ]
        self.assertEqual(engine.analyse_batch(texts), [engine.analyse(t) for t in texts])

    def test_topic_words_are_those_of_the_text(self):
        result = engine.analyse("Le remboursement n'est toujours pas arrivé.")
        refunds = [m for m in result.topics if m.code.startswith("returns")]
        self.assertTrue(refunds)
        self.assertIn("remboursement", refunds[0].words)


class BadInput(TestCase):
    def test_empty_and_blank_texts_are_neutral_and_flagged(self):
        for text in ("", "   \n\t ", "<p> </p>"):
            with self.subTest(text=text):
                result = engine.analyse(text)
                self.assertEqual((result.sentiment, result.score), ("neutral", 0.0))
                self.assertEqual(result.topics, ())
                self.assertIn(FLAG_EMPTY, result.flags)

    def test_binary_looking_text_is_flagged_not_read(self):
        noise = os.urandom(3000).decode("utf-8", errors="replace")
        result = engine.analyse(noise)
        self.assertIn(FLAG_BINARY, result.flags)
        self.assertEqual(result.sentiment, "neutral")

    def test_a_huge_text_is_read_on_its_first_part_and_says_so(self):
        text = "Le colis est arrivé cassé, je suis très déçu. " * 30_000  # about 1.4 MB
        started = time.perf_counter()
        result = engine.analyse(text)
        self.assertLess(time.perf_counter() - started, 2.0)  # a guard against hangs, not a target
        self.assertIn(FLAG_TRUNCATED, result.flags)
        self.assertEqual(result.sentiment, "negative")

    def test_html_is_read_as_text(self):
        result = engine.analyse(
            "<div><p>Livraison <b>très</b> rapide&nbsp;!</p><script>alert(1)</script></div>"
        )
        self.assertIn(FLAG_MARKUP, result.flags)
        self.assertEqual(result.sentiment, "positive")
        self.assertIn("delivery", {code.split(".")[0] for code in result.topic_codes})
        self.assertFalse(any("alert" in word for m in result.topics for word in m.words))

    def test_emoji_only(self):
        self.assertEqual(engine.analyse("😡😡👎").sentiment, "negative")
        self.assertEqual(engine.analyse("👍😍").sentiment, "positive")
        self.assertEqual(engine.analyse("😡").language, "other")

    def test_all_caps_reads_like_lowercase(self):
        shouting = engine.analyse("LIVRAISON TRÈS RAPIDE, PRODUIT PARFAIT")
        quiet = engine.analyse("livraison très rapide, produit parfait")
        self.assertEqual(shouting.sentiment, "positive")
        self.assertEqual(shouting.language, quiet.language)
        self.assertEqual(shouting.topic_codes, quiet.topic_codes)

    def test_mixed_languages_are_flagged_and_topics_found_in_both(self):
        result = engine.analyse(
            "Le colis est arrivé en retard. The customer service was rude and unhelpful."
        )
        self.assertIn(FLAG_MIXED, result.flags)
        self.assertIn(result.language, ("fr", "en"))
        self.assertIn("delivery.delay", result.topic_codes)
        self.assertEqual(result.sentiment, "negative")

    def test_other_languages_are_other(self):
        result = engine.analyse("El pedido llegó tarde y nadie contesta al teléfono.")
        self.assertEqual(result.language, "other")

    def test_random_unicode_never_crashes(self):
        generator = random.Random(7)
        alphabet = "abcé😀<>&;.!? \n\t\x00\u200b\ufffd日本" + "".join(map(chr, range(32, 127)))
        texts = [
            "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 400)))
            for _ in range(300)
        ]
        for result in engine.analyse_batch(texts):
            self.assertIn(result.sentiment, ("negative", "neutral", "positive"))
            self.assertTrue(-1.0 <= result.score <= 1.0)
