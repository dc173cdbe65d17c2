import pytest

from cxcore.text.discovery import Suggestion, discover


def parking_comments(count: int) -> list[str]:
    places = ["le matin", "le soir", "le samedi", "en semaine", "à midi", "le dimanche"]
    return [
        f"Impossible de trouver une place de parking {places[i % len(places)]}, parking plein"
        for i in range(count)
    ]


def wifi_comments(count: int) -> list[str]:
    rooms = ["la chambre", "le salon", "la terrasse", "le hall", "la salle", "le bar"]
    return [
        f"Le wifi ne marche pas dans {rooms[i % len(rooms)]}, connexion wifi coupée"
        for i in range(count)
    ]


def test_it_finds_two_obviously_distinct_groups():
    pairs = zip(parking_comments(12), wifi_comments(12), strict=True)
    texts = [text for pair in pairs for text in pair]
    suggestions = discover(texts, language="fr")
    assert len(suggestions) == 2
    by_keyword = {suggestion.keywords[0]: suggestion for suggestion in suggestions}
    assert set(by_keyword) == {"parking", "wifi"}
    parking, wifi = by_keyword["parking"], by_keyword["wifi"]
    assert parking.size == wifi.size == 12
    assert "place" in parking.keywords and "connexion" in wifi.keywords
    assert 3 <= len(parking.keywords) <= 5
    assert len(parking.examples) == 3
    assert all("parking" in texts[index] for index in parking.examples)
    assert all("wifi" in texts[index] for index in wifi.examples)


def test_it_is_reproducible():
    texts = parking_comments(15) + wifi_comments(9) + ["Le personnel était charmant"] * 3
    assert discover(texts, language="fr") == discover(list(texts), language="fr")


def test_it_sorts_suggestions_by_size():
    texts = wifi_comments(8) + parking_comments(15)
    sizes = [suggestion.size for suggestion in discover(texts, language="fr")]
    assert sizes == [15, 8]


def test_it_drops_groups_smaller_than_min_size():
    texts = parking_comments(10) + wifi_comments(3)
    suggestions = discover(texts, language="fr", min_size=5)
    assert [suggestion.keywords[0] for suggestion in suggestions] == ["parking"]
    assert all(suggestion.size >= 5 for suggestion in suggestions)


def test_it_returns_at_most_max_topics():
    texts = parking_comments(12) + wifi_comments(12)
    assert len(discover(texts, language="fr", max_topics=1)) == 1


def test_examples_index_the_texts_given_even_past_empty_ones():
    texts = ["", "👍", "et le la", *parking_comments(6)]
    (suggestion,) = discover(texts, language="fr")
    assert suggestion.size == 6
    assert all(index >= 3 for index in suggestion.examples)


def test_it_shows_words_as_written_rather_than_stems():
    texts = ["Livraisons en retard", "Livraison en retard", "livraisons retardées"] * 3
    (suggestion,) = discover(texts, language="fr")
    assert "livraisons" in suggestion.keywords
    assert "livrais" not in suggestion.keywords


def test_it_folds_accents_in_any_language():
    texts = ["Délai trop long", "Délai trop long !", "delai trop long"] * 3
    (suggestion,) = discover(texts, language="other")
    # Without folding, "delai" would be a second keyword.
    assert suggestion.keywords == ("délai", "long")
    assert suggestion.size == 9


def test_fewer_texts_than_min_size_give_nothing():
    assert discover(parking_comments(4), language="fr", min_size=5) == []
    assert discover([], language="fr") == []


def test_identical_texts_make_one_group_with_one_example():
    texts = ["Le parking est toujours plein"] * 10
    assert discover(texts, language="fr") == [
        Suggestion(keywords=("parking", "plein", "toujours"), size=10, examples=(0,))
    ]


@pytest.mark.parametrize(
    "texts",
    [
        ["et le la de", "the and of", "il elle nous vous"] * 5,
        ["", " ", "👍🔥"] * 5,
        ["unique", "words", "everywhere", "nothing", "repeats"],
    ],
)
def test_texts_without_shared_words_give_nothing(texts):
    assert discover(texts, language="fr") == []


def test_it_rejects_nonsense_limits():
    with pytest.raises(ValueError):
        discover(parking_comments(10), language="fr", max_topics=0)
