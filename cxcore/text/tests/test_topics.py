import re

import pytest

from cxcore.text.topics import (
    MAX_WORDS,
    TopicMatcher,
    TopicSpec,
    seed_matcher,
    seed_specs,
    seed_tree,
)
from cxcore.text.types import TopicMatch

TOP_LEVEL = {
    "delivery",
    "returns-refunds",
    "product-quality",
    "price",
    "billing",
    "staff-welcome",
    "staff-competence",
    "waiting-time",
    "website-app",
    "communication",
    "store",
    "after-sales",
}


def topics(text: str, language: str = "fr") -> dict[str, tuple[str, ...]]:
    return {match.code: match.words for match in seed_matcher().match(text, language)}


def codes(text: str, language: str = "fr") -> list[str]:
    return [match.code for match in seed_matcher().match(text, language)]


def spec(code: str, en=(), fr=(), exclusions_en=(), exclusions_fr=(), parent=None) -> TopicSpec:
    return TopicSpec(
        code=code,
        parent=parent,
        terms={"en": tuple(en), "fr": tuple(fr)},
        exclusions={"en": tuple(exclusions_en), "fr": tuple(exclusions_fr)},
    )


def walk(nodes, parent=None):
    for node in nodes:
        yield node, parent
        yield from walk(node["children"], node)


# The seed taxonomy


def test_seed_codes_are_unique_slugs_under_their_parent():
    nodes = list(walk(seed_tree()))
    all_codes = [node["code"] for node, _ in nodes]
    assert len(all_codes) == len(set(all_codes))
    for node, parent in nodes:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*(\.[a-z]+(-[a-z]+)*)?", node["code"]), node["code"]
        if parent is not None:
            assert node["code"].startswith(parent["code"] + ".")


def test_seed_has_the_expected_top_level_topics_with_children():
    tree = seed_tree()
    assert {node["code"] for node in tree} >= TOP_LEVEL
    children = {node["code"]: {child["code"] for child in node["children"]} for node in tree}
    assert {
        "delivery.delay",
        "delivery.damaged",
        "delivery.missing-item",
        "delivery.carrier",
    } <= children["delivery"]
    assert {"returns-refunds.return-process", "returns-refunds.refund-delay"} <= children[
        "returns-refunds"
    ]
    assert {"waiting-time.queue", "waiting-time.phone"} == children["waiting-time"]
    assert {"after-sales.contact", "after-sales.replacement"} <= children["after-sales"]


def test_every_seed_node_has_both_names_and_terms_in_both_languages():
    for node, _ in walk(seed_tree()):
        assert node["name_en"].strip() and node["name_fr"].strip(), node["code"]
        assert set(node["terms"]) == {"en", "fr"}, node["code"]
        assert node["terms"]["en"] and node["terms"]["fr"], node["code"]
        assert set(node["exclusions"]) == {"en", "fr"}, node["code"]
        for language in ("en", "fr"):
            terms = node["terms"][language]
            assert all(term == term.strip() and term for term in terms), node["code"]
        assert isinstance(node["children"], list)


def test_seed_specs_are_flat_with_parents_set():
    specs = seed_specs()
    by_code = {spec.code: spec for spec in specs}
    assert by_code["delivery"].parent is None
    assert by_code["delivery.delay"].parent == "delivery"
    assert "livr*" in by_code["delivery"].terms["fr"]
    assert "livraison gratuite" in by_code["billing.delivery-fees"].exclusions["fr"]
    assert len(specs) == len(list(walk(seed_tree())))
    # Parents come before their children.
    order = [spec.code for spec in specs]
    assert all(order.index(spec.parent) < order.index(spec.code) for spec in specs if spec.parent)


def test_seed_tree_is_a_fresh_copy_each_time():
    tree = seed_tree()
    tree[0]["code"] = "changed"
    assert seed_tree()[0]["code"] != "changed"


# Matching


def test_it_matches_french_words_and_phrases():
    assert topics("Livraison rapide et colis bien emballé.") == {
        "delivery": ("livraison", "colis"),
        "delivery.delay": ("livraison rapide",),
        "delivery.packaging": ("emballé",),
    }


def test_it_matches_english_words_and_phrases():
    assert topics("The courier lost my parcel and customer service never replied.", "en") == {
        "delivery": ("courier", "parcel"),
        "delivery.carrier": ("courier",),
        "after-sales": ("customer service",),
        "communication.no-answer": ("never replied",),
    }


def test_it_matches_words_written_without_accents():
    assert topics("Le delai est trop long, colis recu abime") == {
        "delivery.delay": ("delai",),
        "delivery": ("colis", "recu"),
        "delivery.damaged": ("abime",),
    }


def test_accented_and_accentless_forms_give_the_same_topics():
    assert codes("Délai de livraison dépassé, colis reçu abîmé") == codes(
        "Delai de livraison depasse, colis recu abime"
    )


def test_it_matches_plurals_genders_and_conjugations():
    assert topics("Les livraisons sont toujours en retard")["delivery.delay"] == ("en retard",)
    assert topics("Commande livrée, remboursée rapidement")["returns-refunds.refund-delay"] == (
        "remboursée rapidement",
    )
    assert topics("They refunded me but refunds take ages", "en")["returns-refunds"] == (
        "refunded",
        "refunds",
    )
    assert "product-quality.defect" in codes("Deux verres cassés")


def test_feminine_forms_without_accents_still_match():
    # The French stemmer gives "livree" and "livrée" different stems; both are keys of a word.
    assert topics("colis endommagee")["delivery.damaged"] == ("endommagee",)


def test_a_phrase_needs_its_words_in_order_and_together():
    assert "billing.delivery-fees" in codes("Les frais de port sont chers")
    assert "billing.delivery-fees" not in codes("Les frais sont chers, le port aussi")
    assert "delivery.carrier" not in codes("Le point le plus important, relax")


def test_a_phrase_hides_the_shorter_terms_inside_it():
    # "point relais" and "relais" are both carrier terms: the phrase is reported once.
    assert topics("Livré au point relais")["delivery.carrier"] == ("point relais",)


def test_a_phrase_does_not_run_across_sentences():
    assert "billing.delivery-fees" not in codes("Que des frais. De port, rien à dire")


def test_prefix_terms_match_the_beginning_of_words():
    assert topics("Le livreur est passé")["delivery"] == ("livreur",)
    assert topics("Le livreur est passé")["delivery.carrier"] == ("livreur",)
    assert topics("packaging was poor", "en")["delivery.packaging"] == ("packaging",)
    # "package" shares a stem with "packaging" but not the prefix "packaging*".
    assert "delivery.packaging" not in codes("the package came", "en")


def test_prefix_terms_ignore_accents():
    assert topics("Super réactivité")["after-sales.contact"] == ("réactivité",)
    assert topics("Super reactivite")["after-sales.contact"] == ("reactivite",)


def test_a_phrase_may_end_with_a_prefix_word():
    assert topics("The shipping fees were outrageous", "en")["billing.delivery-fees"] == (
        "shipping fees",
    )


def test_an_exclusion_cancels_the_topic_in_its_sentence():
    assert "billing.delivery-fees" not in codes("Frais de port offerts !")
    assert "billing.delivery-fees" not in codes("The shipping cost is nothing: free shipping", "en")
    assert "product-quality" not in codes("Bon rapport qualité prix")
    assert "waiting-time" not in codes("L'article répond à mes attentes")


def test_an_exclusion_spares_other_sentences():
    found = topics("Frais de port offerts. Mais les frais de port du retour sont chers")
    assert found["billing.delivery-fees"] == ("frais de port",)


def test_a_line_break_ends_a_sentence_for_exclusions():
    assert "billing.delivery-fees" in codes("frais de port offerts\nfrais de port du retour")


def test_an_exclusion_spares_other_topics():
    found = codes("Livraison gratuite et rapide")
    assert "delivery" in found
    assert "billing.delivery-fees" not in found


def test_it_returns_only_the_topics_whose_own_terms_matched():
    # The carrier's parent, delivery, has no term here: callers roll up themselves.
    assert codes("Le point relais était fermé") == ["delivery.carrier"]


def test_it_orders_matches_by_first_occurrence():
    assert codes("Le SAV est nul, la livraison aussi, et le prix trop élevé") == [
        "after-sales",
        "delivery",
        "price",
    ]


def test_it_reports_distinct_words_as_written_lowercased_at_most_five():
    found = topics("LIVRAISON, Livraison, livré, livrée, colis, expédition, envoi, livreur")
    assert found["delivery"] == ("livraison", "livré", "livrée", "colis", "expédition")
    assert len(found["delivery"]) == MAX_WORDS


def test_all_caps_text_matches():
    assert topics("LIVRAISON TRÈS RAPIDE, COLIS ABÎMÉ") == {
        "delivery": ("livraison", "colis"),
        "delivery.delay": ("livraison très rapide",),
        "delivery.damaged": ("colis abîmé",),
    }


def test_each_language_uses_its_own_terms():
    assert codes("colis", "en") == []
    assert codes("parcel", "fr") == []


def test_other_language_tries_both_languages():
    assert topics("Livraison rapide but the app keeps crashing", "other") == {
        "delivery": ("livraison",),
        "delivery.delay": ("livraison rapide",),
        "website-app": ("app",),
        "website-app.bug": ("keeps crashing",),
    }


def test_an_unknown_language_is_read_as_other():
    assert codes("colis and parcel", "de") == codes("colis and parcel", "other") == ["delivery"]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "👍👍🔥", "!!! ... ???", "12 34"])
def test_texts_without_words_match_nothing(text):
    assert seed_matcher().match(text, "fr") == ()
    assert seed_matcher().match(text, "other") == ()


def test_emoji_next_to_words_do_not_hide_them():
    assert topics("livraison👍 rapide🔥")["delivery"] == ("livraison",)


def test_it_does_not_strip_markup_so_callers_clean_first():
    # Tag names and attributes are read as words: "site" below comes from the markup.
    assert codes('<a href="site">ok</a>') == ["website-app"]


def test_matches_are_topic_match_values():
    (match,) = seed_matcher().match("colis", "fr")
    assert match == TopicMatch("delivery", ("colis",))


def test_it_gives_the_same_answer_twice():
    text = "Livraison en retard, colis abîmé, SAV injoignable, remboursement toujours pas reçu"
    assert seed_matcher().match(text, "fr") == seed_matcher().match(text, "fr")


# Matchers built from specs


def test_version_is_a_short_stable_hash_of_the_specs():
    first, second = TopicMatcher(seed_specs()), TopicMatcher(seed_specs())
    assert re.fullmatch(r"[0-9a-f]{12}", first.version)
    assert first.version == second.version == seed_matcher().version
    changed = seed_specs()
    changed[0] = spec("delivery", en=["delivery"], fr=["livraison"])
    assert TopicMatcher(changed).version != first.version


def test_a_matcher_works_on_specs_made_by_hand():
    matcher = TopicMatcher(
        [
            spec("parking", en=["parking lot", "car park"], fr=["parking"]),
            spec("parking.price", parent="parking", fr=["parking payant"]),
        ]
    )
    assert matcher.codes == ("parking", "parking.price")
    assert matcher.match("Le parking payant, quelle idée", "fr") == (
        TopicMatch("parking", ("parking",)),
        TopicMatch("parking.price", ("parking payant",)),
    )
    assert matcher.match("The car parks were full", "en") == (
        TopicMatch("parking", ("car parks",)),
    )


def test_a_matcher_ignores_languages_it_does_not_read():
    matcher = TopicMatcher([TopicSpec("x", None, {"de": ("lieferung",)}, {})])
    assert matcher.match("lieferung", "other") == ()


@pytest.mark.parametrize("term", ["li*", "li*vr", "*livr", "", "...", "colis. rapide"])
def test_a_matcher_rejects_bad_terms(term):
    with pytest.raises(ValueError):
        TopicMatcher([spec("x", fr=[term])])


def test_a_matcher_rejects_duplicate_codes():
    with pytest.raises(ValueError, match="delivery"):
        TopicMatcher([spec("delivery", fr=["colis"]), spec("delivery", fr=["livraison"])])
