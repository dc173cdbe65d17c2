"""Cutting French and English customer comments into sentences."""

import time

import pytest

from cxcore.text.sentences import split


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Livraison rapide. Produit conforme !", ["Livraison rapide.", "Produit conforme !"]),
        ("Great ring! Fast shipping? Yes.", ["Great ring!", "Fast shipping?", "Yes."]),
        ("Quoi ?! Pas reçu !!! Scandaleux", ["Quoi ?!", "Pas reçu !!!", "Scandaleux"]),
        ("Super!!! Merci", ["Super!!!", "Merci"]),
        ("Bof... Je ne recommande pas", ["Bof...", "Je ne recommande pas"]),
        ("Trop bien… Je recommande", ["Trop bien…", "Je recommande"]),
        ("Wait... what?! No!", ["Wait... what?!", "No!"]),
        ("livraison rapide. produit conforme", ["livraison rapide.", "produit conforme"]),
    ],
)
def test_it_ends_sentences_on_end_marks_and_their_runs(text, sentences):
    assert split(text) == sentences


def test_it_keeps_french_spacing_before_marks_with_the_sentence():
    assert split("Super ! Merci ; à bientôt : vraiment top ?") == [
        "Super !",
        "Merci ; à bientôt : vraiment top ?",
    ]


def test_it_keeps_french_quotes_around_a_sentence():
    assert split("« Super ! » Je recommande.") == ["« Super ! »", "Je recommande."]


def test_it_keeps_closing_quotes_and_brackets_with_the_sentence():
    assert split('He said "great." Then left (sadly.) Bye') == [
        'He said "great."',
        "Then left (sadly.)",
        "Bye",
    ]


def test_it_goes_on_after_an_ellipsis_followed_by_lower_case():
    assert split("Bon... mais pas top. Dommage") == ["Bon... mais pas top.", "Dommage"]


@pytest.mark.parametrize(
    "text",
    [
        "Note 3.5 sur 5 et prix de 12.99 € correct",
        "J'ai payé 3,5 € de frais, c'est bien",
        "M. Dupont et Mme. Durand ont été aimables",
        "Mr. Smith and Dr. Jones were kind",
        "Rings, straps, chargers etc. and more were in the box",
        "Small things e.g. the strap, i.e. the clasp broke",
        "Order No. 5 arrived",
        "Commande n° 1234 reçue",
        "Visit www.oura.com or email support@ouraring.com for help",
        "J. K. Rowling signed it",
        "U.S. shipping was slow",
        "Prix : 20 € ; qualité : bof",
    ],
)
def test_it_does_not_cut_decimals_abbreviations_links_or_initials(text):
    assert split(text) == [text]


def test_it_cuts_after_etc_when_a_new_sentence_starts():
    assert split("Shoes, bags, etc. Great site") == ["Shoes, bags, etc.", "Great site"]


def test_it_cuts_after_a_plain_no_that_is_not_a_number():
    assert split("Would I buy again? No. Never.") == ["Would I buy again?", "No.", "Never."]


def test_it_cuts_after_a_date_number_ending_a_sentence():
    assert split("C'est le 12. Reçu le 15.") == ["C'est le 12.", "Reçu le 15."]


def test_it_cuts_where_the_space_after_a_mark_is_missing():
    assert split("It was the ring.They replaced it at no cost!Thank you") == [
        "It was the ring.",
        "They replaced it at no cost!",
        "Thank you",
    ]


def test_it_cuts_on_newlines_and_drops_blank_lines():
    assert split("Bonjour\n\n\nLe colis est arrivé\n  en retard  \n") == [
        "Bonjour",
        "Le colis est arrivé",
        "en retard",
    ]


def test_it_cuts_on_bullets_at_line_starts_and_drops_the_bullets():
    text = "- Livraison rapide\n- Produit conforme\n\n• Prix bas\n* Emballage soigné"
    assert split(text) == ["Livraison rapide", "Produit conforme", "Prix bas", "Emballage soigné"]


def test_it_keeps_a_dash_inside_a_line():
    assert split("Ras - parfait") == ["Ras - parfait"]


def test_it_keeps_list_numbers_with_their_item():
    assert split("1. Colis abîmé\n2. Remboursement refusé") == [
        "1. Colis abîmé",
        "2. Remboursement refusé",
    ]


def test_it_cuts_after_emoji_that_end_a_sentence():
    assert split("Parfait 👍 Livraison rapide") == ["Parfait 👍", "Livraison rapide"]
    assert split("Top 👍🏽👍🏽 Merci") == ["Top 👍🏽👍🏽", "Merci"]


def test_it_keeps_emoji_inside_a_sentence():
    assert split("Parfait 👍👍👍") == ["Parfait 👍👍👍"]
    assert split("trop bien 😍 je recommande") == ["trop bien 😍 je recommande"]
    assert split("I ❤️ Oura") == ["I ❤️ Oura"]


def test_it_joins_wordless_pieces_to_the_sentence_before():
    assert split("Livraison rapide. 👍👍 Merci.") == ["Livraison rapide. 👍👍", "Merci."]
    assert split("Nul.\n!!!") == ["Nul. !!!"]


def test_it_joins_leading_emoji_to_the_first_sentence():
    assert split("👍\nSuper produit") == ["👍 Super produit"]


def test_it_keeps_a_wordless_comment_as_one_piece():
    assert split("😍😍😍") == ["😍😍😍"]
    assert split("!!!") == ["!!!"]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n", "- ", "\n-\n"])
def test_it_returns_nothing_for_a_blank_text(text):
    assert split(text) == []


def test_it_splits_all_caps():
    assert split("LIVRAISON TRÈS RAPIDE. PRODUIT CONFORME") == [
        "LIVRAISON TRÈS RAPIDE.",
        "PRODUIT CONFORME",
    ]


def test_it_splits_a_comment_mixing_french_and_english():
    assert split("Très bien. Great service!") == ["Très bien.", "Great service!"]


def test_it_splits_a_huge_text_in_linear_time():
    huge = "Le colis est arrivé en retard. Pourquoi ?! " * 25_000  # about 1 MB
    started = time.perf_counter()
    sentences = split(huge)
    assert time.perf_counter() - started < 1.0
    assert len(sentences) == 50_000
    assert sentences[:2] == ["Le colis est arrivé en retard.", "Pourquoi ?!"]
