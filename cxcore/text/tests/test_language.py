"""Telling French from English, and both from other languages, in customer comments."""

import pytest

from cxcore.text.language import detect, languages_present, mixed
from cxcore.text.types import OTHER

FRENCH_COMMENTS = [
    "Très bien",
    "Nul",
    "Parfait !",
    "Parfait",
    "bof",
    "Génial",
    "Déçue",
    "Nickel",
    "Satisfaite",
    "MERCI",
    "A fuir",
    "tres bien recu merci",  # no accents, as typed on a phone
    "livraison rapide produit conforme a la description",
    "LIVRAISON TRÈS RAPIDE",
    "Top, merci !",
    "ok merci",
    "cool 👍 merci",
    "Super produit",
    "Excellente qualité",
    "Impeccable, je recommande",
    "J'adore",
    "c’est nul",
    "pas ouf",
    "Colis jamais arrivé",
    "Article abîmé",
    "Verres cassés",
    "Service client injoignable",
    "sav nul",
    "Taille trop petite",
    "Pas reçu mon colis !!!",
    "remboursement en attente depuis 3 semaines",
    "Un peu cher mais bien",
    "Rapidité de la livraison",
    "Showroomprivé au top comme d'habitude",
    "La commande est arrivée en retard et le service client ne répond pas.",
]

ENGLISH_COMMENTS = [
    "Great service",
    "Good",
    "Bad",
    "Awful",
    "Thanks!",
    "Nice",
    "Fast delivery",
    "Works great",
    "Love it ❤️",
    "Never again",
    "Don't buy",
    "I'm happy",
    "Waste of money",
    "GREAT PRODUCT, FAST SHIPPING",
    "Arrived broken",
    "Poor quality",
    "Highly recommended",
    "Five stars",
    "Exactly as described",
    "Still waiting for my refund",
    "didnt work, had to return it",
    "Life changing device.",
    "The ring stopped charging after two months and support never answered my emails.",
]

OTHER_COMMENTS = [
    "",
    "   ",
    "ok",
    "Top",
    "Super",
    "Excellent",
    "Service",
    "Impeccable",
    "Bravo",
    "👍👍👍",
    "😍😍",
    "12345",
    "10/10 !!!",
    "Muy bien, gracias",
    "Todo perfecto",
    "Envío rápido",
    "El pedido llegó tarde y el producto está roto",
    "Sehr gut, danke",
    "Alles super, gerne wieder",
    "Die Lieferung war schnell und die Ware ist gut",
    "Ottimo prodotto, spedizione veloce",
    "Tutto perfetto, grazie",
    "Entrega rápida, recomendo",
    "Produto chegou rápido",
    "Zeer goed en snel geleverd",
    "Очень хорошо",
    "Отличный сервис, спасибо! Очень довольна покупкой",
    "很好",
    "配送が早くて良かったです",
    "ممتاز",
]


@pytest.mark.parametrize("text", FRENCH_COMMENTS)
def test_it_recognises_french(text):
    assert detect(text) == "fr"


@pytest.mark.parametrize("text", ENGLISH_COMMENTS)
def test_it_recognises_english(text):
    assert detect(text) == "en"


@pytest.mark.parametrize("text", OTHER_COMMENTS)
def test_it_calls_other_languages_scripts_and_wordless_texts_other(text):
    assert detect(text) == OTHER


def test_it_does_not_let_a_few_english_words_in_a_russian_text_decide():
    assert detect("Кольцо Oura ring is good, но доставка была очень долгой и дорогой") == OTHER


def test_it_decides_by_the_language_that_dominates_a_long_text():
    text = (
        "Commande passée le 3, reçue le 5. Le produit est conforme à la description et "
        "la taille correspond. Seul bémol : l'emballage était un peu abîmé. Good job anyway."
    )
    assert detect(text) == "fr"


def test_it_reads_past_a_first_part_without_evidence():
    # The first 200 characters are a product reference; the words come after.
    text = "REF-" + "X" * 250 + " the strap broke after a week and I want a refund"
    assert detect(text) == "en"


def test_it_reads_no_further_than_its_window_in_a_huge_text():
    assert detect("Très bien reçu, merci. " * 50_000) == "fr"


def test_it_finds_both_languages_when_each_has_a_sentence():
    assert languages_present("Très bien. Great service") == ("fr", "en")
    assert mixed("Très bien. Great service")


def test_it_puts_the_dominant_language_first():
    text = "Livraison rapide. The customer service was very helpful and quick, thank you!"
    assert languages_present(text) == ("en", "fr")


def test_it_finds_a_second_language_on_another_line():
    text = "Le colis est arrivé abîmé\nThe box was crushed and the item is broken"
    assert languages_present(text) == ("fr", "en")


def test_it_does_not_call_one_borrowed_word_a_second_language():
    assert languages_present("Great ring. Merci") == ("en",)
    assert languages_present("Rapide, efficace, good price et qualité") == ("fr",)
    assert not mixed("Super site. Top, merci !")


def test_it_does_not_call_shared_small_words_a_second_language():
    text = (
        "I had a problem with the battery of my ring, so I contacted support on a Sunday and "
        "they sent me a replacement. A plus for the team, on time and very kind."
    )
    assert languages_present(text) == ("en",)


def test_its_first_language_is_always_the_detected_one():
    for text in FRENCH_COMMENTS + ENGLISH_COMMENTS + OTHER_COMMENTS:
        assert languages_present(text)[0] == detect(text)


def test_it_names_a_foreign_main_language_other_and_still_reports_english():
    text = "El pedido llegó tarde y el producto está roto. The support never answered"
    assert languages_present(text) == (OTHER, "en")
    assert not mixed(text)


def test_it_finds_no_second_language_in_a_wordless_text():
    assert languages_present("👍👍👍") == (OTHER,)
    assert not mixed("")
