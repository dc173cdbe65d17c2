"""Tell French from English (and both from anything else) by the small words people use."""

from __future__ import annotations

import re
from itertools import repeat

from cxcore.text.types import LANGUAGES, OTHER

FRENCH, ENGLISH = LANGUAGES
# Neighbours are scored too, so that Spanish or German text is recognised as not ours
# instead of being pulled towards whichever of French and English it shares most words with.
_SCORED = (FRENCH, ENGLISH, "es", "de", "it", "pt", "nl")
_FR, _EN = 0, 1

# Function words first, then words customers use in short reviews. A word listed under several
# languages counts a share for each. Words both languages use alike ("service", "excellent",
# "top", "ok", "super", "client", "photo") are left out on purpose: they must not decide alone.
# Elided forms ("l'", "qu'") and contraction stems ("don'", "didn") are tokens of their own.
_WORDS = {
    FRENCH: """
        le la les l' un une des du de d' a au aux ce cet cette ces c' ça ca cela ceci et ou mais
        donc car ni que qu' qui quoi dont où je j' tu il elle on nous vous ils elles me m' te
        t' se s' moi toi lui leur leurs eux mon ma mes ton ta tes son sa ses notre nos votre
        vos ne n' pas plus moins rien jamais toujours encore déjà deja aussi très tres trop peu
        beaucoup bien mal tout tous toute toutes est sont suis êtes etes sommes été ete était
        etait étaient etaient avait avais ai avons avez ont eu avoir être etre fait faire fais
        font faut peut peux pu veux voulais dois doit dans sur sous avec sans pour par chez
        vers entre depuis pendant avant après apres comme quand si alors ainsi puis enfin même
        meme autre autres chaque quelque quelques aucun aucune ici là voilà voila y en oui non
        aujourd' jusqu' lorsqu' puisqu' quelqu' presqu' cest jai
        merci bonjour bonsoir cordialement svp stp cdt bjr tb tbe ras mdr
        bon bonne bons bonnes parfait parfaite parfaits parfaites parfaitement nul nulle nuls
        bof moyen moyenne génial géniale genial geniale magnifique superbe joli jolie jolis
        jolies beau belle beaux belles agréable agreable sympa incroyable excellente
        déçu déçue déçus déçues decu decue déception deception décevant décevante decevant
        livraison livraisons livré livrée livrés livre livree livrer commande commandes
        commandé commandée commande commander commandes colis produit produits reçu reçue
        reçus recu recue recus arrivé arrivée arrivés arrivee envoi envoyé expédition
        expedition expédié délai délais delai delais retard retour retours remboursement
        remboursé rembourse rembourser rapide rapides rapidement rapidité rapidite vite lent
        lente lenteur taille tailles couleur qualité qualite prix conforme conformes satisfait
        satisfaite satisfaits contente ravi ravie efficace efficacité sérieux sérieuse serieux
        serieuse achat achats acheté achete vendeur vendeuse vente ventes emballage paquet
        facile problème probleme problèmes problemes soucis souci recommande recommander
        recommandé recommandée expérience attente attendre mois semaine semaines jours jour
        heure heures cher chère chere mauvais mauvaise mauvaises catastrophique lamentable
        honteux honteuse inadmissible scandaleux arnaque escroquerie voleurs vraiment nickel
        dommage malheureusement hélas helas toujours assez juste chaussures vêtements robe
        pull article articles produit marque indisponible rupture stock site annulé annulée
        annulation personne aucune réponse reponse contacté joindre injoignable conseiller
        conseillère
        habitude hauteur rien redire cassé cassée cassés cassées casse abîmé abîmée abimé
        abime endommagé endommagée réception paiement payé payée payer vont va vais aller allé
        recevoir reçois trouvé trouve déjà choix bonheur plaisir fuir sav ouf soigné soignée
        étoile étoiles
    """,
    ENGLISH: """
        the a an and or but of to in on at for with from by about as into through over under
        after before between out up down off than then so if because while although though
        when where what which who whom whose why how this that these those there here it its
        i me my mine you your yours he him his she her hers we us our they them their is are
        was were be been being am have has had having do does did doing done not no yes very
        too also just only even still already again always never ever all any some each every
        both more most much many few little other such own same can could will would shall
        should may might must get got getting make made go went gone come came take took give
        gave know knew think thought want wanted need needed said say see seen like love loved
        really well back now today time one two first last new since without however every
        it' i' that' there' what' he' she' they' we' you' don' didn' doesn' isn' wasn' weren'
        aren' couldn' wouldn' shouldn' hasn' haven' hadn' can' won' don didn doesn isn wasn
        weren aren couldn wouldn shouldn hasn haven hadn ll ve im ive didnt doesnt cant wont
        isnt wasnt couldnt wouldnt
        thank thanks thankyou please sorry good great bad awful amazing awesome perfect
        perfectly fantastic wonderful fast quick quickly slow late easy smooth delivery
        delivered shipping shipped order ordered orders refund refunded return returned
        returns replacement replaced replace package parcel item items product products
        customer customers staff friendly helpful unhelpful rude recommend recommended highly
        happy satisfied disappointed disappointing useless waste worst best better worse money
        price cheap expensive quality issue issues problem problems battery ring app response
        responsive help helped team nice fine shop website store size fit color colour received
        arrived sent told asked days day week weeks month months year years thing things way
        experience life device devices work works worked working use used using buy bought
        purchase purchased changing changed exactly described star stars five
    """,
    "es": """
        el la los las un una unos unas y o pero de del al a en con por para sin sobre que qué
        es son está están estaba fue ser muy más mas bien mal bueno buena buenos buenas
        excelente gracias pedido envío envio rápido rapido rápida rapida producto productos
        llegó llego tiempo todo todos nada no sí si lo le les me mi mis su sus yo tu te nos se
        este esta esto ese esa eso como cuando donde también tambien hay ha he han recomiendo
        calidad precio entrega servicio atención atencion compra perfecto
    """,
    "de": """
        der die das den dem des ein eine einen einem einer und oder aber nicht kein keine ist
        sind war waren bin bist hat haben hatte ich du er sie es wir ihr mit von zu zum zur im
        in auf für fur bei aus nach über auch sehr gut schnell lieferung geliefert bestellung
        bestellt danke vielen ware alles immer noch nur schon wieder wie was wenn dass mich mir
        mein meine sich man so gerne gern empfehlen kann leider schlecht zufrieden produkt
        preis qualität versand also an am will
    """,
    "it": """
        il lo la i gli le un uno una di del della dei delle da dal dalla in nel nella con su
        per tra fra e ed o ma non che chi è sono era molto tutto tutti anche come più piu mi ti
        si ci vi ho ha hanno abbiamo questo questa quello bene buono buona ottimo ottima grazie
        spedizione veloce prodotto prodotti consegna arrivato arrivata servizio prezzo qualità
        acquisto consiglio sempre ancora l' d' c' dell' nell' all' un' so
    """,
    "pt": """
        o a os as um uma uns umas de do da dos das em no na nos nas com por para pelo pela e ou
        mas não nao que é são foi era muito muita mais bem bom boa ótimo otimo obrigado
        obrigada entrega produto produtos chegou rápido rapido rápida atendimento compra
        recomendo qualidade preço tudo nada eu você voce ele ela nós eles isso este esta
        também tambem já se me te
    """,
    "nl": """
        de het een en of maar niet geen is zijn was waren ben heb heeft hebben ik je jij hij
        zij we wij u mijn met van voor op in aan bij uit naar over ook zeer erg heel goed snel
        levering geleverd bestelling besteld bedankt dank product prijs kwaliteit alles altijd
        nog al wel dat die dit deze wat als om te tot door
    """,
}

# Letters that lean towards one language, read only when the words leave the question open.
_LETTER_LEANINGS = {
    FRENCH: "éèêàçœùûîôâëï",
    "es": "ñáíóú¿¡",
    "de": "äöüß",
    "pt": "ãõ",
    "it": "ìò",
}
_LETTER_WEIGHT = 0.3
_LETTER_CAP = 3  # letters of one kind counted at most: accents refine, words decide

_SAMPLE = 200  # characters read first; most comments are settled by then
_WINDOW = 2000  # characters read at most
_MIN_SCORE = 0.9  # one word of the language, or a few accents and a shared word
_MIN_SHARE = 0.12  # of all words; below, a few listed words in a foreign text are chance
_DECISIVE = 3.0  # a score this high, with twice the next one, needs nothing more
_LATIN_SURE = 0.3  # of all words: a text this full of listed words is in Latin script
_EARNEST_WORDS = 2  # a passage in a second language counts from two words on
_MINORITY_RATIO = 6  # a second language scoring under a sixth of the first is only borrowed

# Word scores are summed in C: each word maps to one integer holding its share for every
# language in a fixed-width bit field, so sum() over the words adds all languages at once.
_SHARE_UNIT = 60  # divisible by 1..6, so a word's share among its languages stays whole
_FIELD_BITS = 20  # room for 2,000 characters of words at 60 each, with a wide margin
_FIELD_MASK = (1 << _FIELD_BITS) - 1
_SHIFTS = tuple(_FIELD_BITS * index for index in range(len(_SCORED)))

# Punctuation glued to words is turned into spaces by str.replace (C speed); apostrophes keep
# their mark on the word they end, so "l'article" reads as "l'" and "article".
_GLUED_PUNCTUATION = (",", ".", "!", "?", "(", ")", ";", ":", '"', "…")
_LETTER_CUE = re.compile("[" + "".join(_LETTER_LEANINGS.values()) + "]")
_NON_LATIN = re.compile(r"[\u0370-\u1dff\u2e80-\ua4cf\uac00-\ud7af\uf900-\ufaff]")
_PASSAGE_END = re.compile(r"[.!?…\n]+")


def _build_lookup() -> dict[str, int]:
    """Map each listed word to its packed shares, one bit field per language."""
    languages_of: dict[str, set[int]] = {}
    for index, language in enumerate(_SCORED):
        for word in _WORDS[language].split():
            languages_of.setdefault(word, set()).add(index)
    return {
        word: sum((_SHARE_UNIT // len(indexes)) << _SHIFTS[index] for index in indexes)
        for word, indexes in languages_of.items()
    }


_LOOKUP = _build_lookup()
_LETTER_LANGUAGE = {
    letter: _SCORED.index(language)
    for language, letters in _LETTER_LEANINGS.items()
    for letter in letters
}


def detect(text: str) -> str:
    """Return "fr", "en" or "other" for the language `text` is written in."""
    packed, words, lowered, _ = _read(text)
    return _decide(_unpack(packed), words, lowered)


def languages_present(text: str) -> tuple[str, ...]:
    """Return the language of `text` first, then French or English if also written in earnest.

    The first item is always what `detect` returns. French or English follows when a passage
    (a sentence, a line) of at least two words is written in it: ("fr", "en") for a French
    comment with an English sentence, ("other", "en") for a Spanish one.
    """
    packed, words, lowered, read = _read(text)
    language = _decide(_unpack(packed), words, lowered)
    if read < min(len(text), _WINDOW):
        rest = text[read:_WINDOW].lower()
        packed += _packed_score(_words(rest))
        lowered += rest
    scores = _unpack(packed)
    # Cheap gate before reading passage by passage: a handful of shared or borrowed words
    # ("a", "on", "top", "good price") in a long text is not a second language.
    candidates = [
        candidate
        for candidate, index in ((FRENCH, _FR), (ENGLISH, _EN))
        if candidate != language
        and scores[index] >= _MIN_SCORE
        and scores[index] * _MINORITY_RATIO >= max(scores)
    ]
    if not candidates:
        return (language,)
    found = set()
    for passage in _PASSAGE_END.split(lowered):
        passage_words = _words(passage)
        if len(passage_words) >= _EARNEST_WORDS:
            passage_scores = _unpack(_packed_score(passage_words))
            found.add(_decide(passage_scores, passage_words, passage))
    return (language, *(candidate for candidate in candidates if candidate in found))


def mixed(text: str) -> bool:
    """Tell whether French and English are both written in earnest in `text`."""
    present = languages_present(text)
    return FRENCH in present and ENGLISH in present


def _read(text: str) -> tuple[int, list[str], str, int]:
    """Score the start of `text`, and up to the whole window when the start leaves doubt.

    Return the packed scores, the words, the lower-cased text read and how many characters
    of `text` that was.
    """
    lowered = text[:_SAMPLE].lower()
    words = _words(lowered)
    packed = _packed_score(words)
    if len(text) <= _SAMPLE or _is_decisive(_unpack(packed)):
        return packed, words, lowered, min(len(text), _SAMPLE)
    rest = text[_SAMPLE:_WINDOW].lower()
    rest_words = _words(rest)
    return (
        packed + _packed_score(rest_words),
        words + rest_words,
        lowered + rest,
        min(len(text), _WINDOW),
    )


def _words(lowered: str) -> list[str]:
    for mark in _GLUED_PUNCTUATION:
        if mark in lowered:
            lowered = lowered.replace(mark, " ")
    if "’" in lowered:
        lowered = lowered.replace("’", "'")
    if "'" in lowered:
        lowered = lowered.replace("'", "' ")
    return lowered.split()


def _packed_score(words: list[str]) -> int:
    return sum(map(_LOOKUP.get, words, repeat(0)))


def _unpack(packed: int) -> list[float]:
    return [((packed >> shift) & _FIELD_MASK) / _SHARE_UNIT for shift in _SHIFTS]


def _is_decisive(scores: list[float]) -> bool:
    runner_up, best = sorted(scores)[-2:]
    return best >= _DECISIVE and best >= 2 * runner_up


def _decide(scores: list[float], words: list[str], lowered: str) -> str:
    if not words:
        return OTHER
    if not _is_decisive(scores) and not lowered.isascii():
        cues = _LETTER_CUE.findall(lowered)
        if cues:
            scores = scores.copy()
            for letter in set(cues):
                scores[_LETTER_LANGUAGE[letter]] += _LETTER_WEIGHT * min(
                    cues.count(letter), _LETTER_CAP
                )
    best = max(scores)
    if best < _MIN_SCORE or best < _MIN_SHARE * len(words):
        return OTHER
    if best < _LATIN_SURE * len(words) and _mostly_other_script(lowered):
        return OTHER
    if scores[_FR] == best:
        # A tie between French and English goes to French, the platform's first language.
        return FRENCH
    if scores[_EN] == best:
        return ENGLISH
    return OTHER


def _mostly_other_script(lowered: str) -> bool:
    if lowered.isascii():
        return False
    foreign = len(_NON_LATIN.findall(lowered))
    return foreign * 2 > len(lowered) - lowered.count(" ")
