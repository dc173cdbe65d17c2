"""The demo company: a believable French retailer with French- and English-speaking customers.

`demo_seed` creates the reference data (sites, teams, partners, employees, touchpoints), then
writes customers and their interactions through the real ingestion path (`RowValidator` and
`interactions_ingest`), so the demo exercises what production imports do. Everything is drawn
from seeded generators: the same seed and sizes give the same company, and re-running finds
every interaction already there (source "demo", deterministic external ids).

Patterns planted for the analytics to find: Colis Express delivers late about five times as
often as Relais Vert, the phone reception of the Lille store leaves callers waiting or
unanswered far more often than the other stores, and a few customers share identities.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from cxcore.customers.models import (
    AuditEntry,
    ContactPoint,
    Customer,
    CustomerMerge,
    DeclaredAttribute,
    Segment,
)
from cxcore.customers.services import customer_merge, customer_scores_refresh, segment_save
from cxcore.db import insert_rows
from cxcore.feedback.demo import demo_feedback
from cxcore.interactions.ingest import References, RowValidator
from cxcore.interactions.models import Employee, Partner, Site, Team, Touchpoint
from cxcore.interactions.services import interactions_ingest
from cxcore.lib.actor import Actor
from cxcore.membrane import services as membrane_services
from cxcore.membrane.models import (
    Campaign,
    ConsentEvent,
    ConsentState,
    DoNotContact,
    Message,
    Preference,
)
from cxcore.text.services import analyses_store_all

ACTOR = Actor(via="demo")
SOURCE = "demo"
CHUNK_SIZE = 5000
PARIS = ZoneInfo("Europe/Paris")
HISTORY_DAYS = 545  # about 18 months


def _words(text: str) -> list[str]:
    return text.split()


# --- reference data --------------------------------------------------------------------------

SITES = [
    # code, name, kind, city
    ("paris-rivoli", "Paris Rivoli", "store", "Paris"),
    ("lyon-part-dieu", "Lyon Part-Dieu", "store", "Lyon"),
    ("lille-centre", "Lille Centre", "store", "Lille"),
    ("eshop", "E-shop", "eshop", "Paris"),
    ("call-centre", "Call centre Villeurbanne", "call_centre", "Villeurbanne"),
    ("warehouse", "Warehouse Roissy", "warehouse", "Roissy-en-France"),
]
STORES = ("paris-rivoli", "lyon-part-dieu", "lille-centre")
STORE_WEIGHTS = {"paris-rivoli": 45, "lyon-part-dieu": 30, "lille-centre": 25}

TEAMS = [
    ("store-paris-rivoli", "Store team Paris Rivoli"),
    ("store-lyon-part-dieu", "Store team Lyon Part-Dieu"),
    ("store-lille-centre", "Store team Lille Centre"),
    ("call-centre", "Call centre"),
    ("eshop", "E-shop"),
    ("billing", "Billing"),
    ("after-sales", "After-sales"),
]

PARTNERS = [
    ("colis-express", "Colis Express", "logistics"),
    ("relais-vert", "Relais Vert", "logistics"),
    ("payflux", "PayFlux", "payment"),
]
# Planted pattern: Colis Express is late about five times as often as Relais Vert.
CARRIER_SHARES = {"colis-express": 45, "relais-vert": 55}
DELIVERY_OUTCOMES = {
    "colis-express": {"on_time": 56, "late": 35, "damaged": 5, "missed": 4},
    "relais-vert": {"on_time": 89.5, "late": 7, "damaged": 1.5, "missed": 2},
}
# Planted pattern: the Lille store's phone reception leaves callers waiting or unanswered.
# fmt: off
CALL_OUTCOMES = {
    "phone-lille-centre":
        {"resolved": 45, "unresolved": 10, "transferred": 5, "long_wait": 22, "unanswered": 18},
    "phone-call-centre":
        {"resolved": 70, "unresolved": 13, "transferred": 8, "long_wait": 6, "unanswered": 3},
    "default":
        {"resolved": 72, "unresolved": 12, "transferred": 8, "long_wait": 5, "unanswered": 3},
}
# fmt: on
# Touchpoints run by the shop system, which knows customers by its own id.
SHOP_TOUCHPOINTS = frozenset(
    _words(
        "order-web order-app payment-online delivery-colis-express delivery-relais-vert "
        "billing website app"
    )
)

EMPLOYEES = {
    # team code -> (site code, names)
    "store-paris-rivoli": (
        "paris-rivoli",
        ["Claire Dubois", "Mehdi Benali", "Sophie Laurent", "Julien Marchand", "Aïcha Diallo"],
    ),
    "store-lyon-part-dieu": ("lyon-part-dieu", ["Camille Roux", "Thomas Girard", "Inès Moreau"]),
    "store-lille-centre": ("lille-centre", ["Élodie Lefebvre", "Kevin Duhamel", "Aurélie Vasseur"]),
    "call-centre": (
        "call-centre",
        ["Nadia Haddad", "Romain Petit", "Laura Fontaine", "Yannick Le Goff", "Sarah Cohen"],
    ),
    "eshop": ("eshop", ["Maxime Perrin", "Julie Garnier"]),
    "billing": ("call-centre", ["Hélène Bertrand", "François Meunier"]),
    "after-sales": ("warehouse", ["Antoine Lemoine", "Céline Robin", "Karim Saïdi"]),
}

# fmt: off
TOUCHPOINTS = [
    # code, kind, team, partner, site, name in English, name in French
    ("phone-paris-rivoli", "phone_reception", "store-paris-rivoli", None, "paris-rivoli",
     "Phone reception, Paris Rivoli store", "Accueil téléphonique, magasin Paris Rivoli"),
    ("phone-lyon-part-dieu", "phone_reception", "store-lyon-part-dieu", None, "lyon-part-dieu",
     "Phone reception, Lyon Part-Dieu store", "Accueil téléphonique, magasin Lyon Part-Dieu"),
    ("phone-lille-centre", "phone_reception", "store-lille-centre", None, "lille-centre",
     "Phone reception, Lille Centre store", "Accueil téléphonique, magasin Lille Centre"),
    ("phone-call-centre", "phone_reception", "call-centre", None, "call-centre",
     "Customer service phone line", "Ligne téléphonique du service client"),
    ("store-paris-rivoli", "store", "store-paris-rivoli", None, "paris-rivoli",
     "Paris Rivoli store", "Magasin Paris Rivoli"),
    ("store-lyon-part-dieu", "store", "store-lyon-part-dieu", None, "lyon-part-dieu",
     "Lyon Part-Dieu store", "Magasin Lyon Part-Dieu"),
    ("store-lille-centre", "store", "store-lille-centre", None, "lille-centre",
     "Lille Centre store", "Magasin Lille Centre"),
    ("order-web", "ordering", "eshop", None, "eshop",
     "Ordering on the website", "Commande sur le site web"),
    ("order-app", "ordering", "eshop", None, "eshop",
     "Ordering in the app", "Commande dans l'application"),
    ("delivery-colis-express", "delivery", None, "colis-express", "warehouse",
     "Home delivery by Colis Express", "Livraison à domicile par Colis Express"),
    ("delivery-relais-vert", "delivery", None, "relais-vert", "warehouse",
     "Home delivery by Relais Vert", "Livraison à domicile par Relais Vert"),
    ("billing", "billing", "billing", None, None,
     "Billing", "Facturation"),
    ("payment-online", "payment", "eshop", "payflux", "eshop",
     "Online payment", "Paiement en ligne"),
    ("after-sales", "after_sales", "after-sales", None, None,
     "After-sales service", "Service après-vente"),
    ("website", "website", "eshop", None, "eshop",
     "Website", "Site web"),
    ("app", "app", "eshop", None, "eshop",
     "Mobile app", "Application mobile"),
    ("email-newsletter", "email", "eshop", None, None,
     "Newsletter", "Lettre d'information"),
    ("email-service", "email", "call-centre", None, "call-centre",
     "Customer service email", "E-mail du service client"),
    ("social", "social", "call-centre", None, None,
     "Social networks", "Réseaux sociaux"),
]
# fmt: on

# --- people and words ------------------------------------------------------------------------


FRENCH_FIRST_NAMES = _words(
    "Marie Camille Léa Manon Chloé Emma Inès Sarah Julie Laura Claire Sophie Isabelle Nathalie "
    "Anne Céline Élodie Aurélie Pauline Lucie Juliette Louise Alice Margaux Hélène Françoise "
    "Monique Sylvie Christine Valérie Jeanne Agnès Yasmine Fatima Nadia Océane Zoé Jade "
    "Jean Pierre Michel Philippe Alain Nicolas Julien Thomas Antoine Maxime Alexandre Kevin "
    "Romain Sébastien Guillaume Mathieu Hugo Lucas Louis Théo Nathan Paul Arthur Gabriel "
    "Raphaël Olivier François Laurent Éric Stéphane Yannick Mehdi Karim Sofiane Amine Bernard "
    "Jacques Gérard Patrick Baptiste Quentin Adrien Clément"
)
FRENCH_LAST_NAMES = _words(
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Muller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier "
    "François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu "
    "Masson Marchand Duval Denis Dumont Lemaire Noël Meyer Dufour Meunier Brun Blanchard "
    "Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche Renard "
    "Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas "
    "Lacroix Olivier Bourgeois Benoît Rey Leclerc Payet Rolland Leclercq Lecomte Lopez Dupuis "
    "Guillot Hubert Berger Carpentier Sanchez Dupuy Moulin Deschamps Huet Vasseur Perez Boucher "
    "Fleury Royer Klein Jacquet Adam Poirier Marty Aubry Guyot Carré Renault Charpentier "
    "Ménard Maillard Baron Bertin Bailly Hervé Schneider Fernandez Collet Léger Bouvier "
    "Prévost Millet Perrot Cousin Germain Breton Besson Langlois Rémy Pelletier Lévêque "
    "Perrier Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier Michaud "
    "Guichard Gillet Étienne Grondin Poulain Tessier Chauvin Bouchet Humbert Reynaud Hoarau "
    "Perret Barthélemy Cordier Pichon Lejeune Gilbert Lamy Delaunay Pasquier Carlier Laporte "
    "Benali Haddad Diallo Nguyen Traoré"
) + ["Le Gall", "Le Goff", "Da Silva", "Le Roux"]
ENGLISH_FIRST_NAMES = _words(
    "Oliver George Harry Jack Jacob Charlie James William Daniel Michael David John Robert "
    "Matthew Andrew Edward Samuel Henry Emily Olivia Amelia Isla Ava Jessica Sophie Grace "
    "Chloe Hannah Charlotte Lucy Sarah Emma Rachel Laura Katie Rebecca Megan Eleanor Ruby"
)
ENGLISH_LAST_NAMES = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips "
    "Mason Mitchell Rose Davis Cox Campbell Johnston Moore Stewart Quinn Murphy Graham "
    "Hamilton Murray Hughes Robertson Thomson Scott Macdonald Reid Clark Ross Young Watson "
    "Morrison Kelly Baker Cooper Ward Harris King Turner Hill Morgan Bennett Carter Shaw "
    "Collins Bell Cook Price"
) + ["O'Neill", "O'Brien"]
FRENCH_EMAIL_DOMAINS = {
    "gmail.com": 30,
    "orange.fr": 18,
    "free.fr": 10,
    "hotmail.fr": 9,
    "laposte.net": 7,
    "sfr.fr": 6,
    "yahoo.fr": 6,
    "outlook.fr": 5,
    "wanadoo.fr": 4,
    "icloud.com": 5,
}
ENGLISH_EMAIL_DOMAINS = {
    "gmail.com": 40,
    "outlook.com": 20,
    "yahoo.co.uk": 12,
    "hotmail.co.uk": 10,
    "icloud.com": 10,
    "btinternet.com": 8,
}
# French mobile prefixes whose every 7-digit continuation is a valid number.
MOBILE_PREFIXES = ("60", "61", "62", "64", "65", "66", "67", "68", "75", "76", "77", "78")

# Customers' words and staff notes, in the customer's language: key -> (French, English).
NOTES = {
    "late": (
        [
            "Mon colis devait arriver mardi, toujours rien aujourd'hui. Personne ne répond chez "
            "le transporteur.",
            "Livraison en retard de quatre jours, c'est la deuxième fois ce mois-ci.",
            "Suivi bloqué sur « en cours de livraison » depuis trois jours, très déçue.",
            "Retard de livraison sans aucune information, c'est inadmissible.",
            "J'ai posé une journée de congé pour rien, le colis n'est pas venu.",
        ],
        [
            "My parcel was due on Tuesday and still nothing. Nobody answers at the carrier.",
            "Delivery four days late, the second time this month.",
            "Tracking has said out for delivery for three days. Very disappointing.",
            "Late delivery and no information at all, not acceptable.",
            "I took a day off for nothing, the parcel never came.",
        ],
    ),
    "damaged": (
        [
            "Carton écrasé, l'article est arrivé cassé.",
            "Le colis est arrivé abîmé et mouillé.",
            "Produit rayé à la livraison, je souhaite un échange.",
        ],
        [
            "Box crushed, the item arrived broken.",
            "The parcel arrived damaged and wet.",
            "Product scratched on delivery, I would like an exchange.",
        ],
    ),
    "missed": (
        [
            "Le livreur n'a pas sonné, avis de passage alors que j'étais chez moi.",
            "Colis déposé au point relais sans tentative de livraison.",
        ],
        [
            "The driver never rang and left a card although I was at home.",
            "Parcel left at a pick-up point without any attempt to deliver.",
        ],
    ),
    "long_wait": (
        [
            "Vingt minutes d'attente au téléphone avant d'avoir quelqu'un.",
            "Attente interminable, musique en boucle, j'ai failli raccrocher.",
            "Accueil téléphonique peu aimable après une longue attente.",
        ],
        [
            "Twenty minutes on hold before anyone picked up.",
            "Endless waiting with the same music, I nearly hung up.",
            "Unfriendly welcome on the phone after a long wait.",
        ],
    ),
    "unanswered": (
        [
            "Appel sans réponse, le magasin ne décroche jamais.",
            "Trois appels dans la matinée, personne ne répond.",
        ],
        [
            "No answer, the store never picks up.",
            "Called three times this morning, nobody answered.",
        ],
    ),
    "call": (
        [
            "Question sur la disponibilité d'un article en magasin, renseignée.",
            "Demande de suivi de commande, information donnée.",
            "Changement d'adresse de livraison effectué.",
            "Renseignement sur les horaires d'ouverture.",
            "Cliente très aimable, problème réglé rapidement.",
            "Merci pour votre aide, tout est clair maintenant.",
        ],
        [
            "Asked whether an item was in stock at the store; answered.",
            "Order tracking request, information given.",
            "Delivery address changed.",
            "Asked about opening hours.",
            "Friendly call, problem solved quickly.",
            "Thanks for your help, all clear now.",
        ],
    ),
    "unresolved": (
        [
            "Le conseiller n'a pas pu répondre à ma question, je dois rappeler.",
            "Aucune solution proposée pour mon remboursement.",
        ],
        [
            "The adviser could not answer my question; I have to call back.",
            "No solution offered for my refund.",
        ],
    ),
    "billing": (
        [
            "Facturé deux fois pour la même commande.",
            "Montant facturé différent du prix affiché sur le site.",
            "Je n'ai pas reçu ma facture papier.",
            "La facture ne mentionne pas la remise fidélité.",
        ],
        [
            "Invoiced twice for the same order.",
            "Amount charged differs from the price shown online.",
            "I did not receive my paper bill.",
            "The invoice does not show the loyalty discount.",
        ],
    ),
    "positive": (
        [
            "Vendeuse très à l'écoute, excellents conseils.",
            "Super expérience, livraison rapide et produit parfait.",
            "Magasin bien rangé et personnel accueillant.",
            "Très satisfait, je recommande.",
            "Service après-vente efficace, merci !",
        ],
        [
            "Very attentive shop assistant, excellent advice.",
            "Great experience, fast delivery and a perfect product.",
            "Tidy store and welcoming staff.",
            "Very happy, would recommend.",
            "Efficient after-sales service, thank you!",
        ],
    ),
    "negative": (
        [
            "Trop d'attente en caisse, une seule caisse ouverte.",
            "Article introuvable en rayon et personne pour m'aider.",
            "Site lent et paiement refusé deux fois.",
            "Application qui plante au moment de payer.",
        ],
        [
            "Long queue at the till, only one open.",
            "Could not find the item and nobody to help.",
            "Slow website and payment refused twice.",
            "The app crashes when I try to pay.",
        ],
    ),
    "neutral": (
        ["Correct, sans plus.", "Commande conforme, emballage un peu excessif."],
        ["Fine, nothing special.", "Order as expected, a bit too much packaging."],
    ),
    "request": (
        [
            "Demande de duplicata de facture.",
            "Question sur la garantie du produit.",
            "Comment modifier mon mot de passe ?",
            "Puis-je retirer ma commande en magasin ?",
        ],
        [
            "Asked for a copy of an invoice.",
            "Question about the product warranty.",
            "How do I change my password?",
            "Can I collect my order in store?",
        ],
    ),
    "return": (
        [
            "Taille trop petite, demande d'échange.",
            "Produit ne correspondant pas à la description.",
            "Article défectueux après une semaine.",
        ],
        [
            "Size too small, asked for an exchange.",
            "Product not as described.",
            "Item faulty after a week.",
        ],
    ),
    "out_of_stock": (
        ["Article en rupture, cliente orientée vers le site.", "Taille indisponible en magasin."],
        ["Item out of stock, customer pointed to the website.", "Size not available in store."],
    ),
}

ATTRIBUTE_VALUES = {
    "preferred_contact_time": ["morning", "afternoon", "evening"],
    "shoe_size": [str(size) for size in range(36, 47)],
    "has_children": ["yes", "no"],
    "prefers_paper_bills": ["yes", "no", "no", "no"],
}
INTERESTS = (
    [
        "randonnée",
        "cuisine",
        "jardinage",
        "course à pied",
        "lecture",
        "bricolage",
        "mode",
        "voyages",
        "musique",
    ],
    ["hiking", "cooking", "gardening", "running", "reading", "DIY", "fashion", "travel", "music"],
)

SEGMENTS = [
    (
        "Active Paris shoppers",
        "New or active customers who came to the Paris Rivoli store in the last six months.",
        [
            {"field": "lifecycle_stage", "op": "in", "value": ["new", "active"]},
            {
                "field": "touchpoint",
                "op": "within_days",
                "value": {"code": "store-paris-rivoli", "days": 180},
            },
        ],
    ),
    (
        "English-speaking customers",
        "Customers who prefer to be addressed in English.",
        [{"field": "language", "op": "eq", "value": "en"}],
    ),
    (
        "Dormant loyalty members",
        "Loyalty card holders we have not seen for six months or more.",
        [
            {"field": "lifecycle_stage", "op": "in", "value": ["lapsing", "dormant"]},
            {"field": "has_contact", "op": "eq", "value": "loyalty_card"},
        ],
    ),
    (
        "Prefer paper bills",
        "Customers who told us they want their bills on paper.",
        [
            {
                "field": "attribute",
                "op": "eq",
                "value": {"key": "prefers_paper_bills", "value": "yes"},
            }
        ],
    ),
]


# --- the plan ------------------------------------------------------------------------------------


class Event(NamedTuple):
    at: datetime
    touchpoint: str
    channel: str
    kind: str
    outcome: str
    direction: str = "inbound"
    employee: str | None = None
    note: str | None = None  # a key of NOTES, written in the customer's language


@dataclass(slots=True)
class Profile:
    first_name: str
    last_name: str
    language: str
    email: str | None
    phone: str | None  # E.164
    card: str | None
    external_id: str | None
    home_store: str
    online: float  # share of shopping done online
    app_user: bool
    stage: str  # the lifecycle the plan aims at: new, active, lapsing, dormant
    count: int = 0
    start_ago: float = 0.0  # days before now of the first interaction
    end_ago: float = 0.0  # and of the last


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _weighted(rng: random.Random, weights: dict):
    """One of the keys, drawn in proportion to its weight."""
    return rng.choices(list(weights), list(weights.values()))[0]


class DemoCompany:
    """The customers and interactions of one seed and size, generated without the database."""

    def __init__(self, *, seed: int, customers: int, interactions: int, now: datetime):
        self.seed = seed
        self.now = now
        self.local_now = now.astimezone(PARIS)
        self.requested = (customers, interactions)
        self._used: dict[str, set] = {
            "card": set(),
            "client": set(),
            "phone": set(),
            "email": set(),
        }
        # Planted identity conflicts: households sharing a phone, and one person twice.
        planted = min(6, customers // 10) if interactions >= customers + 6 else 0
        self.customer_count = max(0, min(customers, interactions - planted))
        rng = random.Random(f"cxcore-demo:{seed}:customers")
        self.profiles = [self._profile(rng) for _index in range(self.customer_count)]
        self.conflict_pairs, self.merge_pair = self._plant_duplicates(rng, planted)
        self._plan_activity(rng, interactions - len(self.conflict_pairs))
        self.employees = {
            team: [slugify(name) for name in names] for team, (_site, names) in EMPLOYEES.items()
        }

    # Customers -----------------------------------------------------------------------------

    def _profile(self, rng: random.Random) -> Profile:
        english = rng.random() < 0.2
        if english:
            first, last = rng.choice(ENGLISH_FIRST_NAMES), rng.choice(ENGLISH_LAST_NAMES)
            domains, language = ENGLISH_EMAIL_DOMAINS, "en"
            online = 0.55 + 0.4 * rng.random()
        else:
            first, last = rng.choice(FRENCH_FIRST_NAMES), rng.choice(FRENCH_LAST_NAMES)
            domains, language = FRENCH_EMAIL_DOMAINS, "fr"
            online = rng.random() ** 1.3
        email = None
        if rng.random() < 0.93:
            email = self._email(rng, first, last, _weighted(rng, domains))
        phone = None
        if rng.random() < 0.85 or email is None:
            phone = self._phone(rng)
        card = f"FID{self._unique(rng, 'card', 10**9):09d}" if rng.random() < 0.4 else None
        external_id = None
        if rng.random() < 0.85:
            external_id = f"CLI-{self._unique(rng, 'client', 9 * 10**7) + 10**7:08d}"
        stage = _weighted(rng, {"new": 12, "active": 50, "lapsing": 18, "dormant": 20})
        return Profile(
            first_name=first,
            last_name=last,
            language=language,
            email=email,
            phone=phone,
            card=card,
            external_id=external_id,
            home_store=_weighted(rng, STORE_WEIGHTS),
            online=online,
            app_user=rng.random() < 0.45,
            stage=stage,
        )

    def _unique(self, rng: random.Random, space: str, size: int) -> int:
        used = self._used[space]
        while True:
            value = rng.randrange(size)
            if value not in used:
                used.add(value)
                return value

    def _email(self, rng: random.Random, first: str, last: str, domain: str) -> str:
        first, last = _ascii(first), _ascii(last)
        pattern = rng.random()
        if pattern < 0.45:
            local = f"{first}.{last}"
        elif pattern < 0.6:
            local = f"{first[0]}{last}"
        elif pattern < 0.75:
            local = f"{first}_{last}"
        else:
            local = f"{first}{last}{rng.randint(1, 99)}"
        used = self._used["email"]
        email = f"{local}@{domain}"
        while email in used:
            email = f"{local}{rng.randint(1, 9999)}@{domain}"
        used.add(email)
        return email

    def _phone(self, rng: random.Random) -> str:
        number = self._unique(rng, "phone", len(MOBILE_PREFIXES) * 10**7)
        prefix, rest = divmod(number, 10**7)
        return f"+33{MOBILE_PREFIXES[prefix]}{rest:07d}"

    def _plan_activity(self, rng: random.Random, total: int) -> None:
        """Share the interactions out: many occasional customers, a few very active ones."""
        profiles = self.profiles
        if not profiles:
            return
        scale = {"new": 2.5, "active": 14.0, "lapsing": 5.0, "dormant": 1.8}
        weights = [scale[p.stage] * rng.lognormvariate(0, 0.9) for p in profiles]
        spare = total - len(profiles)
        weight_sum = sum(weights)
        for profile, weight in zip(profiles, weights, strict=True):
            profile.count = 1 + int(spare * weight / weight_sum)
        leftover = total - sum(p.count for p in profiles)
        for index in rng.sample(range(len(profiles)), leftover):
            profiles[index].count += 1
        for profile in profiles:
            if profile.stage == "new":
                profile.start_ago = rng.uniform(1, 85)
                profile.end_ago = rng.uniform(0, profile.start_ago)
            elif profile.stage == "active":
                profile.start_ago = rng.uniform(100, HISTORY_DAYS)
                # Most active customers were in touch lately; a few have gone quiet for months.
                profile.end_ago = min(170.0, rng.expovariate(1 / 18))
            elif profile.stage == "lapsing":
                profile.start_ago = rng.uniform(200, HISTORY_DAYS)
                profile.end_ago = rng.uniform(190, min(355, profile.start_ago))
            else:
                profile.start_ago = rng.uniform(380, HISTORY_DAYS)
                profile.end_ago = rng.uniform(370, profile.start_ago)
            if profile.count == 1:
                profile.end_ago = profile.start_ago

    def _plant_duplicates(self, rng: random.Random, planted: int):
        """Pairs (a, b) whose one row will carry a's email and b's phone.

        The first pairs are households sharing a phone; in the last one, b is a second record
        of the same person (signed up online, then in store), merged into a after ingestion.
        """
        actives = [i for i, p in enumerate(self.profiles) if p.stage == "active"]
        planted = min(planted, len(actives) // 2)
        chosen = rng.sample(actives, planted * 2)
        pairs = [(chosen[2 * k], chosen[2 * k + 1]) for k in range(planted)]
        for a, b in pairs:
            first, second = self.profiles[a], self.profiles[b]
            if first.email is None:
                first.email = self._email(rng, first.first_name, first.last_name, "gmail.com")
            if second.phone is None:
                second.phone = self._phone(rng)
            second.last_name, second.language = first.last_name, first.language
        merge_pair = pairs[-1] if pairs else None
        if merge_pair:
            first, second = self.profiles[merge_pair[0]], self.profiles[merge_pair[1]]
            second.first_name = first.first_name
            first.phone, first.card, first.online = None, None, 0.9
            if first.external_id is None:
                first.external_id = f"CLI-{self._unique(rng, 'client', 9 * 10**7) + 10**7:08d}"
            second.email, second.external_id, second.online = None, None, 0.05
            if second.card is None:
                second.card = f"FID{self._unique(rng, 'card', 10**9):09d}"
        return pairs, merge_pair

    # Interactions --------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, dict]]:
        """(customer index, raw row) for every interaction, each customer's first row first."""
        rng = random.Random(f"cxcore-demo:{self.seed}:interactions")
        number = 0
        prefix = "demo-{}-{}-{}-".format(self.seed, *self.requested)
        for index, profile in enumerate(self.profiles):
            # One generator per customer: where "now" cuts a recent episode short, only that
            # customer's story changes, not everyone's after them.
            own = random.Random(rng.getrandbits(64))
            events = self._events(own, profile)
            events.sort(key=lambda event: event.at)
            for position, event in enumerate(events):
                raw = self._raw(own, profile, event, first=position == 0)
                raw["external_id"] = f"{prefix}{number}"
                number += 1
                yield index, raw
        for a, b in self.conflict_pairs:
            # Someone ordering with their own email and a relative's phone number.
            yield (
                a,
                {
                    "occurred_at": self._at(rng, rng.uniform(1, 20), 8, 22),
                    "touchpoint": "order-web",
                    "channel": "web",
                    "direction": "inbound",
                    "kind": "order",
                    "outcome": "placed",
                    "source": SOURCE,
                    "email": self._render_email(rng, self.profiles[a].email),
                    "phone": self._render_phone(rng, self.profiles[b].phone),
                    "external_id": f"{prefix}{number}",
                },
            )
            number += 1

    def _raw(self, rng: random.Random, profile: Profile, event: Event, *, first: bool) -> dict:
        raw = {
            "occurred_at": event.at,
            "touchpoint": event.touchpoint,
            "channel": event.channel,
            "direction": event.direction,
            "kind": event.kind,
            "outcome": event.outcome,
            "source": SOURCE,
        }
        if event.employee:
            raw["employee"] = event.employee
        if event.note:
            raw["note"] = rng.choice(NOTES[event.note][0 if profile.language == "fr" else 1])
        if first:
            raw["first_name"] = profile.first_name
            raw["last_name"] = profile.last_name
            raw["language"] = profile.language
            if profile.external_id:
                raw["customer_external_id"] = profile.external_id
            if profile.email:
                raw["email"] = self._render_email(rng, profile.email)
            if profile.phone:
                raw["phone"] = self._render_phone(rng, profile.phone)
            if profile.card:
                raw["loyalty_card"] = self._render_card(rng, profile.card)
            return raw
        # Later contacts carry one identity: the one that touchpoint naturally knows.
        if event.touchpoint.startswith("store-"):
            preferred = ("loyalty_card", "phone", "email", "customer_external_id")
        elif event.channel == "phone":
            preferred = ("phone", "loyalty_card", "email", "customer_external_id")
        elif event.touchpoint in SHOP_TOUCHPOINTS:
            preferred = ("customer_external_id", "email", "phone", "loyalty_card")
        else:
            preferred = ("email", "phone", "customer_external_id", "loyalty_card")
        identities = {
            "email": profile.email,
            "phone": profile.phone,
            "loyalty_card": profile.card,
            "customer_external_id": profile.external_id,
        }
        available = [name for name in preferred if identities[name]]
        name = available[0] if rng.random() < 0.85 else rng.choice(available)
        value = identities[name]
        if name == "email":
            value = self._render_email(rng, value)
        elif name == "phone":
            value = self._render_phone(rng, value)
        elif name == "loyalty_card":
            value = self._render_card(rng, value)
        raw[name] = value
        return raw

    @staticmethod
    def _render_email(rng: random.Random, email: str) -> str:
        # People type capitals; matching must not split them in two.
        roll = rng.random()
        if roll < 0.12:
            return email.title()
        if roll < 0.14:
            return email.upper()
        return email

    @staticmethod
    def _render_phone(rng: random.Random, phone: str) -> str:
        national = "0" + phone[3:]
        pairs = [national[i : i + 2] for i in range(0, 10, 2)]
        roll = rng.random()
        if roll < 0.4:
            return " ".join(pairs)
        if roll < 0.6:
            return national
        if roll < 0.75:
            return f"+33 {phone[3]} " + " ".join(pairs[1:])
        if roll < 0.85:
            return ".".join(pairs)
        return phone

    @staticmethod
    def _render_card(rng: random.Random, card: str) -> str:
        if rng.random() < 0.2:
            return f"{card[:3].lower()} {card[3:6]} {card[6:9]} {card[9:]}"
        return card

    def _at(
        self,
        rng: random.Random,
        days_ago: float,
        first_hour: int,
        last_hour: int,
        *,
        closed_sunday: bool = False,
    ) -> datetime:
        """A moment on the day `days_ago` before now, between two hours, Paris time."""
        hour, minute, second = (
            rng.randint(first_hour, last_hour),
            rng.randrange(60),
            rng.randrange(60),
        )
        earlier = timedelta(minutes=rng.randint(5, 300))
        day = self.local_now - timedelta(days=days_ago)
        if closed_sunday and day.weekday() == 6:
            day -= timedelta(days=1)
        moment = day.replace(hour=hour, minute=minute, second=second, microsecond=0)
        return moment if moment <= self.now else self.now - earlier

    def _events(self, rng: random.Random, profile: Profile) -> list[Event]:
        """A customer's interactions: episodes on many touchpoints, in no fixed order."""
        count = profile.count
        days = [profile.start_ago] if count == 1 else [profile.start_ago, profile.end_ago]
        online = profile.online
        episodes = (
            (self._order, 28 * online),
            (self._store_visit, 28 * (1 - online)),
            (self._call, 10),
            (self._newsletter, 12 if profile.email else 0),
            (self._billing, 4),
            (self._after_sales, 4),
            (self._digital, 7 * online + 1),
            (self._social, 1.5 if profile.language == "fr" else 3),
            (self._email_request, 3 if profile.email else 0),
        )
        functions = [function for function, _weight in episodes]
        cumulative = list(accumulate(weight for _function, weight in episodes))
        events: list[Event] = []
        while len(events) < count:
            day = days.pop(0) if days else rng.uniform(profile.end_ago, profile.start_ago)
            episode = rng.choices(functions, cum_weights=cumulative)[0]
            # An episode's first event is never in the future; what would follow it may be.
            happened = [event for event in episode(rng, profile, day) if event.at <= self.now]
            events.extend(happened[: count - len(events)])
        return events

    # Episodes: a few events in causal order, starting on a given day ------------------------

    def _order(self, rng, profile, day):
        app = profile.app_user and rng.random() < 0.7
        channel, touchpoint = ("app", "order-app") if app else ("web", "order-web")
        ordered = self._at(rng, day, 7, 23)
        if rng.random() < 0.04:
            return [Event(ordered, touchpoint, channel, "order", "cancelled")]
        events = [Event(ordered, touchpoint, channel, "order", "placed")]
        paid = ordered + timedelta(minutes=rng.randint(1, 4))
        if rng.random() < 0.05:
            events.append(Event(paid, "payment-online", channel, "payment", "refused"))
            paid += timedelta(minutes=rng.randint(2, 30))
            if rng.random() < 0.3:
                return events  # gave up
        events.append(Event(paid, "payment-online", channel, "payment", "paid"))

        carrier = _weighted(rng, CARRIER_SHARES)
        outcome = _weighted(rng, DELIVERY_OUTCOMES[carrier])
        delay = rng.uniform(1, 4) + (rng.uniform(3, 8) if outcome == "late" else 0)
        delivered = (ordered + timedelta(days=delay)).replace(hour=rng.randint(8, 19))
        events.append(
            Event(delivered, f"delivery-{carrier}", "in_person", "delivery", outcome, "outbound")
        )
        if rng.random() < 0.5:
            invoiced = delivered + timedelta(hours=rng.uniform(1, 20))
            events.append(Event(invoiced, "billing", "email", "invoice", "sent", "outbound"))
        if outcome != "on_time" and rng.random() < (0.8 if outcome == "damaged" else 0.35):
            complained = delivered + timedelta(hours=rng.uniform(2, 72))
            events.append(self._complaint(rng, complained, outcome))
        elif rng.random() < 0.08:
            answered = delivered + timedelta(days=rng.uniform(1, 5))
            feeling = "positive" if rng.random() < 0.7 else "neutral"
            events.append(
                Event(
                    answered,
                    "app" if app else "website",
                    channel,
                    "feedback",
                    feeling,
                    note=feeling,
                )
            )
        return events

    def _complaint(self, rng, moment, reason) -> Event:
        roll = rng.random()
        if reason == "damaged":
            outcome = _weighted(rng, {"replaced": 50, "refunded": 35, "unresolved": 15})
            return Event(
                moment,
                "after-sales",
                "phone" if roll < 0.5 else "email",
                "complaint",
                outcome,
                employee=rng.choice(self.employees["after-sales"]),
                note=reason,
            )
        if roll >= 0.85:
            outcome = "replied" if rng.random() < 0.7 else "unanswered"
            return Event(moment, "social", "social", "complaint", outcome, note=reason)
        outcome = _weighted(rng, {"resolved": 50, "unresolved": 30, "compensated": 20})
        agent = rng.choice(self.employees["call-centre"])
        if roll < 0.5:
            return Event(
                moment,
                "phone-call-centre",
                "phone",
                "complaint",
                outcome,
                employee=agent,
                note=reason,
            )
        return Event(
            moment, "email-service", "email", "complaint", outcome, employee=agent, note=reason
        )

    def _store_visit(self, rng, profile, day):
        store = profile.home_store if rng.random() < 0.85 else rng.choice(STORES)
        visited = self._at(rng, day, 9, 19, closed_sunday=True)
        outcome = _weighted(rng, {"purchased": 58, "browsed": 32, "out_of_stock": 10})
        employee = rng.choice(self.employees[f"store-{store}"]) if rng.random() < 0.7 else None
        note = "out_of_stock" if outcome == "out_of_stock" and rng.random() < 0.5 else None
        channel = "store" if rng.random() < 0.9 else "in_person"
        events = [
            Event(
                visited, f"store-{store}", channel, "visit", outcome, employee=employee, note=note
            )
        ]
        if outcome == "purchased" and rng.random() < 0.12:
            answered = visited + timedelta(hours=rng.uniform(2, 48))
            feeling = _weighted(rng, {"positive": 60, "neutral": 20, "negative": 20})
            touchpoint = "app" if profile.app_user and rng.random() < 0.5 else "website"
            channel = "app" if touchpoint == "app" else "web"
            events.append(Event(answered, touchpoint, channel, "feedback", feeling, note=feeling))
        elif outcome == "out_of_stock" and rng.random() < 0.3:
            ordered = visited + timedelta(hours=rng.uniform(1, 30))
            events.append(Event(ordered, "order-web", "web", "order", "placed"))
        return events

    def _call(self, rng, profile, day):
        if rng.random() < 0.55:
            site = profile.home_store
            touchpoint, team, closed_sunday = f"phone-{site}", f"store-{site}", True
        else:
            touchpoint, team, closed_sunday = "phone-call-centre", "call-centre", False
        outcomes = CALL_OUTCOMES.get(touchpoint, CALL_OUTCOMES["default"])
        called = self._at(rng, day, 9, 18, closed_sunday=closed_sunday)
        events = []
        for _attempt in range(3):
            outcome = _weighted(rng, outcomes)
            employee = None if outcome == "unanswered" else rng.choice(self.employees[team])
            if outcome in ("long_wait", "unanswered", "unresolved"):
                note = outcome if rng.random() < 0.6 else None
            else:
                note = "call" if rng.random() < 0.4 else None
            events.append(
                Event(called, touchpoint, "phone", "call", outcome, employee=employee, note=note)
            )
            if outcome != "unanswered" or rng.random() < 0.5:
                break
            called += timedelta(hours=rng.uniform(0.5, 6))  # tries again
        if events[-1].outcome == "unresolved" and rng.random() < 0.4:
            back = called + timedelta(hours=rng.uniform(2, 48))
            outcome = "resolved" if rng.random() < 0.8 else "unresolved"
            events.append(
                Event(
                    back,
                    "phone-call-centre",
                    "phone",
                    "callback",
                    outcome,
                    "outbound",
                    rng.choice(self.employees["call-centre"]),
                )
            )
        return events

    def _newsletter(self, rng, profile, day):
        outcome = _weighted(
            rng,
            {"opened": 34, "not_opened": 55, "clicked": 8, "unsubscribed": 2, "bounced": 1},
        )
        return [
            Event(
                self._at(rng, day, 8, 10),
                "email-newsletter",
                "email",
                "newsletter",
                outcome,
                "outbound",
            )
        ]

    def _billing(self, rng, profile, day):
        paper = profile.online < 0.3 and rng.random() < 0.6
        sent = self._at(rng, day, 6, 8)
        events = [
            Event(sent, "billing", "postal" if paper else "email", "invoice", "sent", "outbound")
        ]
        if rng.random() < 0.15:
            asked = (sent + timedelta(days=rng.uniform(1, 10))).replace(hour=rng.randint(9, 17))
            outcome = _weighted(rng, {"resolved": 65, "corrected": 20, "unresolved": 15})
            events.append(
                Event(
                    asked,
                    "billing",
                    "phone",
                    "request",
                    outcome,
                    employee=rng.choice(self.employees["billing"]),
                    note="billing",
                )
            )
        return events

    def _after_sales(self, rng, profile, day):
        moment = self._at(rng, day, 9, 18)
        channel = _weighted(rng, {"phone": 40, "email": 25, "store": 20, "chat": 15})
        kind = _weighted(rng, {"request": 50, "return": 30, "complaint": 20})
        outcome = _weighted(
            rng,
            {"resolved": 55, "refunded": 15, "replaced": 10, "unresolved": 15, "pending": 5},
        )
        note = {"request": "request", "return": "return", "complaint": "negative"}[kind]
        return [
            Event(
                moment,
                "after-sales",
                channel,
                kind,
                outcome,
                employee=rng.choice(self.employees["after-sales"]),
                note=note if rng.random() < 0.7 else None,
            )
        ]

    def _digital(self, rng, profile, day):
        app = profile.app_user and rng.random() < 0.6
        touchpoint, channel = ("app", "app") if app else ("website", "web")
        moment = self._at(rng, day, 7, 23)
        roll = rng.random()
        if roll < 0.45:
            return [Event(moment, touchpoint, channel, "account_update", "done")]
        if roll < 0.75:
            feeling = _weighted(rng, {"positive": 55, "neutral": 25, "negative": 20})
            return [Event(moment, touchpoint, channel, "feedback", feeling, note=feeling)]
        if roll < 0.85 and app:
            feeling = "positive" if rng.random() < 0.6 else "negative"
            return [Event(moment, "app", "app", "review", feeling, note=feeling)]
        outcome = "resolved" if rng.random() < 0.75 else "unresolved"
        return [
            Event(
                moment,
                "website",
                "chat",
                "request",
                outcome,
                employee=rng.choice(self.employees["eshop"]),
                note="request",
            )
        ]

    def _social(self, rng, profile, day):
        moment = self._at(rng, day, 8, 23)
        kind = _weighted(rng, {"mention": 50, "complaint": 30, "feedback": 20})
        if kind == "complaint":
            note = "negative"
        else:
            note = "positive" if rng.random() < 0.7 else "neutral"
        outcome = "replied" if rng.random() < 0.7 else "unanswered"
        return [Event(moment, "social", "social", kind, outcome, note=note)]

    def _email_request(self, rng, profile, day):
        asked = self._at(rng, day, 7, 22)
        outcome = _weighted(rng, {"resolved": 70, "unresolved": 15, "pending": 15})
        events = [
            Event(
                asked,
                "email-service",
                "email",
                "request",
                outcome,
                employee=rng.choice(self.employees["call-centre"]),
                note="request",
            )
        ]
        if outcome != "pending":
            answered = asked + timedelta(hours=rng.uniform(2, 60))
            events.append(
                Event(
                    answered,
                    "email-service",
                    "email",
                    "reply",
                    outcome,
                    "outbound",
                    rng.choice(self.employees["call-centre"]),
                )
            )
        return events


# --- writing ---------------------------------------------------------------------------------


def demo_references_ensure() -> None:
    """Create the demo company's sites, teams, partners, employees and touchpoints if missing."""
    sites = {}
    for code, name, kind, city in SITES:
        sites[code], _created = Site.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "city": city}
        )
    teams = {}
    for code, name in TEAMS:
        teams[code], _created = Team.objects.get_or_create(code=code, defaults={"name": name})
    partners = {}
    for code, name, kind in PARTNERS:
        partners[code], _created = Partner.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind}
        )
    for team, (site, names) in EMPLOYEES.items():
        for name in names:
            Employee.objects.get_or_create(
                code=slugify(name),
                defaults={"name": name, "team": teams[team], "site": sites[site]},
            )
    for code, kind, team, partner, site, name_en, name_fr in TOUCHPOINTS:
        Touchpoint.objects.get_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_fr": name_fr,
                "kind": kind,
                "team": teams.get(team),
                "partner": partners.get(partner),
                "site": sites.get(site),
            },
        )


def demo_seed(
    *,
    seed: int = 42,
    customers: int = 5000,
    interactions: int = 60000,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Generate a believable French/English company; deterministic for a given seed.

    Returns {"customers": n, "interactions": m, ...} with what was written this time.
    """
    now = timezone.now()
    demo_references_ensure()
    company = DemoCompany(seed=seed, customers=customers, interactions=interactions, now=now)
    validator = RowValidator(References.load(), default_source=SOURCE, now=now)
    customer_ids: list[int | None] = [None] * company.customer_count
    summary = {
        "customers": 0,
        "interactions": 0,
        "interactions_created": 0,
        "customers_created": 0,
        "identity_conflicts": 0,
        "rejected": 0,
        "merges": 0,
        "attributes": 0,
        "segments": 0,
    }
    done = 0
    batch: list[tuple[int, dict]] = []

    def flush() -> None:
        nonlocal done
        valid, owners = [], []
        for position, (index, raw) in enumerate(batch):
            row, errors = validator.validate(raw, position)
            if errors:
                # Only when someone deactivated or renamed a demo touchpoint.
                summary["rejected"] += 1
                continue
            valid.append(row)
            owners.append(index)
        results = interactions_ingest(valid, actor=ACTOR, refresh_scores=False)
        for index, result in zip(owners, results, strict=True):
            if result.status == "error":
                summary["rejected"] += 1
                continue
            if customer_ids[index] is None:
                customer_ids[index] = result.customer_id
            if result.status == "created":
                summary["interactions_created"] += 1
                summary["customers_created"] += result.customer_created
                summary["identity_conflicts"] += result.identity_conflict
        done += len(batch)
        batch.clear()
        if progress is not None:
            progress(done)

    for item in company.rows():
        batch.append(item)
        if len(batch) >= CHUNK_SIZE:
            flush()
    if batch:
        flush()

    summary["attributes"] = _attributes_declare(company, customer_ids)
    summary["merges"] = _duplicate_merge(company, customer_ids)
    summary["segments"] = _segments_save()
    customer_scores_refresh()
    if company.merge_pair:
        # The merged record lives on as a tombstone; count the person once.
        customer_ids = [
            customer_ids[company.merge_pair[0]] if index == company.merge_pair[1] else customer_id
            for index, customer_id in enumerate(customer_ids)
        ]
    summary["customers"] = len({c for c in customer_ids if c is not None})
    summary["interactions"] = done - summary["rejected"]
    live_ids = list(dict.fromkeys(c for c in customer_ids if c is not None))
    summary.update(demo_membrane(seed=seed, now=now, customer_ids=live_ids))
    summary.update(demo_feedback(seed=seed, now=now))
    # Comments and notes are read now, so the demo opens with their sentiment and topics.
    summary["texts_analysed"] = analyses_store_all()["analysed"]
    return summary


def _attributes_declare(company: DemoCompany, customer_ids: list[int | None]) -> int:
    """Zero-party data for about a quarter of the customers, written in bulk."""
    rng = random.Random(f"cxcore-demo:{company.seed}:attributes")
    merged = company.merge_pair[1] if company.merge_pair else None
    wanted: dict[tuple[int, str], DeclaredAttribute] = {}
    for index, profile in enumerate(company.profiles):
        if rng.random() >= 0.25 or index == merged or customer_ids[index] is None:
            continue
        customer_id = customer_ids[index]
        keys = rng.sample([*ATTRIBUTE_VALUES, "interests"], rng.randint(1, 3))
        online, app = profile.online, profile.online * profile.app_user
        channel = _weighted(
            rng, {"web": 4 * online, "app": 3 * app, "store": 3, "phone": 1, "postal": 1}
        )
        for key in keys:
            if key == "interests":
                words = INTERESTS[0 if profile.language == "fr" else 1]
                value = ", ".join(rng.sample(words, rng.randint(1, 3)))
            else:
                value = rng.choice(ATTRIBUTE_VALUES[key])
            declared_at = company.now - timedelta(days=rng.uniform(0, profile.start_ago))
            wanted[(customer_id, key)] = DeclaredAttribute(
                customer_id=customer_id,
                key=key,
                value=value,
                declared_at=declared_at,
                channel=channel,
                source=SOURCE,
            )
    ids = sorted({customer_id for customer_id, _key in wanted})
    for start in range(0, len(ids), 5000):
        for key in DeclaredAttribute.objects.filter(
            customer_id__in=ids[start : start + 5000]
        ).values_list("customer_id", "key"):
            wanted.pop(key, None)
    fresh = list(wanted.values())
    DeclaredAttribute.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor_label=ACTOR.label,
                action="declare_attribute",
                target="declared_attribute",
                customer_id=attribute.customer_id,
                changes={
                    "key": attribute.key,
                    "value": attribute.value,
                    "channel": attribute.channel,
                },
                via=ACTOR.via,
            )
            for attribute in fresh
        ],
        batch_size=2000,
    )
    return len(fresh)


def _duplicate_merge(company: DemoCompany, customer_ids: list[int | None]) -> int:
    """Merge the planted second record of one person, as a colleague would have done."""
    if not company.merge_pair:
        return 0
    survivor_id, merged_id = (customer_ids[index] for index in company.merge_pair)
    if survivor_id is None or merged_id is None or survivor_id == merged_id:
        return 0
    if CustomerMerge.objects.filter(merged_id=merged_id).exists():
        return 0
    customers = Customer.objects.in_bulk([survivor_id, merged_id])
    survivor, merged = customers[survivor_id], customers[merged_id]
    if survivor.merged_into_id or merged.merged_into_id:
        return 0
    customer_merge(
        actor=ACTOR,
        survivor=survivor,
        merged=merged,
        reason="Same person: signed up online, then again in store with a loyalty card.",
    )
    return 1


def _segments_save() -> int:
    """The saved segments the demo console shows, unless they exist already."""
    saved = 0
    for name, description, rules in SEGMENTS:
        if Segment.objects.filter(name__iexact=name).exists():
            continue  # staff may have edited it since
        segment_save(actor=ACTOR, name=name, rules=rules, description=description)
        saved += 1
    return saved


# --- the membrane ----------------------------------------------------------------------------

CONSENT_WORDINGS = {
    "fr": (
        "J'accepte de recevoir les offres et les actualités de nos magasins par les canaux que "
        "je coche. Je peux retirer mon accord à tout moment depuis mon espace client, par le "
        "lien de désinscription ou en répondant STOP."
    ),
    "en": (
        "I agree to receive offers and news from our stores by the channels I tick. I can "
        "withdraw my consent at any time from my account, through the unsubscribe link or by "
        "replying STOP."
    ),
}
CONSENT_WORDING_VERSION = "demo-2025-01"
# purpose, channel, contact kind it needs, share granted, share granted then withdrawn
CONSENT_PLAN = (
    ("marketing", "email", "email", 0.59, 0.07),
    ("marketing", "sms", "phone", 0.23, 0.03),
    ("feedback", "email", "email", 0.35, 0.05),
    ("feedback", "sms", "phone", 0.10, 0.02),
)
CONSENT_EVENT_COLUMNS = [
    "customer_id",
    "purpose",
    "channel",
    "granted",
    "occurred_at",
    "recorded_at",
    "source",
    "wording_id",
    "actor_id",
    "actor_label",
    "ip_address",
    "user_agent",
    "note",
]
GRANT_SOURCES = {"web_form": 60, "import": 15, "staff": 15, "paper": 10}
WITHDRAWAL_SOURCES = {"preference_centre": 60, "paper": 15, "staff": 25}
# channel, reason (a few customers, mostly bounced or unsubscribed email addresses)
DO_NOT_CONTACT_REASONS = {
    ("email", "bounced"): 40,
    ("email", "unsubscribed"): 25,
    ("email", "complaint"): 10,
    ("sms", "staff"): 25,
}
PREFERENCE_TOPICS = (
    ["mode", "jardinage", "cuisine", "voyages", "promotions"],
    ["fashion", "gardening", "cooking", "travel", "offers"],
)
PREFERRED_CHANNELS = ([], [], ["email"], ["sms", "email"], ["email", "sms"], ["sms"])
QUIET_HOURS = (
    (None, None),
    (None, None),
    (time(21, 0), time(9, 0)),
    (time(20, 30), time(8, 0)),
    (time(12, 0), time(14, 0)),
)
PURPOSE_CAPS = (
    {},
    {},
    {"marketing": {"week": 1}},
    {"marketing": {"month": 2}, "feedback": {"month": 1}},
)


def _variants(texts: dict) -> list[dict]:
    """Message variants from {(channel, language): (subject, body)}."""
    return [
        {"channel": channel, "language": language, "subject": subject, "body": body}
        for (channel, language), (subject, body) in texts.items()
    ]


# name, purpose, topics, priority, sender team, variants
DEMO_MESSAGES = [
    (
        "Spring newsletter",
        "marketing",
        ["fashion", "mode", "gardening", "jardinage", "travel", "voyages"],
        2,
        "eshop",
        {
            ("email", "fr"): (
                "Le printemps arrive dans vos magasins",
                "Nouvelle collection de saison, outils de jardin et idées de voyage : découvrez "
                "nos nouveautés en magasin et sur le site.",
            ),
            ("email", "en"): (
                "Spring is coming to your stores",
                "A new seasonal collection, garden tools and travel ideas: see what is new in "
                "store and online.",
            ),
            ("sms", "fr"): (
                "",
                "Le printemps arrive : nouvelle collection en magasin et en ligne.",
            ),
            ("sms", "en"): ("", "Spring is here: a new collection in store and online."),
            ("postal", "fr"): (
                "Le printemps arrive",
                "Nouvelle collection de saison dans vos magasins de Paris, Lyon et Lille.",
            ),
            ("postal", "en"): (
                "Spring is coming",
                "A new seasonal collection in our Paris, Lyon and Lille stores.",
            ),
        },
    ),
    (
        "Your parcel is delayed",
        "service",
        [],
        4,
        "after-sales",
        {
            ("email", "fr"): (
                "Votre colis est en retard",
                "Votre colis a pris du retard chez le transporteur. Nous suivons la livraison et "
                "vous tenons informé ; vous pouvez aussi le retirer en magasin.",
            ),
            ("email", "en"): (
                "Your parcel is delayed",
                "Your parcel is delayed at the carrier. We are following the delivery and will "
                "keep you posted; you can also collect it in store.",
            ),
            ("sms", "fr"): ("", "Votre colis est en retard chez le transporteur. Nous le suivons."),
            ("sms", "en"): ("", "Your parcel is delayed at the carrier. We are following it."),
        },
    ),
    (
        "How did we do?",
        "feedback",
        [],
        3,
        "call-centre",
        {
            ("email", "fr"): (
                "Votre avis compte",
                "Comment s'est passé votre dernier échange avec nous ? Deux questions, une "
                "minute : {survey_link}\nVotre code : {survey_code}",
            ),
            ("email", "en"): (
                "Tell us how we did",
                "How was your last contact with us? Two questions, one minute: {survey_link}\n"
                "Your code: {survey_code}",
            ),
            ("sms", "fr"): (
                "",
                "Recommanderiez-vous notre enseigne ? Répondez à ce SMS par un chiffre de 0 à 10.",
            ),
            ("sms", "en"): (
                "",
                "Would you recommend us? Reply to this SMS with a number from 0 to 10.",
            ),
            ("postal", "fr"): (
                "Votre avis compte",
                "Répondez sur {survey_link} ou renvoyez le questionnaire joint ; votre code : "
                "{survey_code}.",
            ),
            ("postal", "en"): (
                "Your opinion counts",
                "Answer at {survey_link} or send back the enclosed questionnaire; your code: "
                "{survey_code}.",
            ),
        },
    ),
]
# name, message, segment, run: a campaign already decided, and a draft with its dry run.
DEMO_CAMPAIGNS = [
    (
        "Spring newsletter, English speakers",
        "Spring newsletter",
        "English-speaking customers",
        True,
    ),
    # Asking lapsing members why suits a survey; and "Active Paris shoppers", whose rule looks
    # through every interaction, takes seconds per query on SQLite, the demo's database.
    ("How did we do? Dormant loyalty members", "How did we do?", "Dormant loyalty members", False),
]


def _json_safe(value):
    return value.isoformat() if isinstance(value, date | time) else value


def demo_membrane(*, seed: int, now: datetime, customer_ids: Sequence[int]) -> dict:
    """Consents, do-not-contact, preferences, messages and campaigns for the demo customers.

    Customers who already have consents or preferences keep them, and messages and campaigns
    found by name are left alone, so a second run writes nothing new.
    """
    rng = random.Random(f"cxcore-demo:{seed}:membrane")
    wordings = {
        language: membrane_services.consent_wording_for(
            text=text, language=language, version=CONSENT_WORDING_VERSION
        )
        for language, text in CONSENT_WORDINGS.items()
    }
    languages, kinds = {}, defaultdict(set)
    for start in range(0, len(customer_ids), 5000):
        part = customer_ids[start : start + 5000]
        languages.update(Customer.objects.filter(pk__in=part).values_list("id", "language"))
        for customer_id, kind in ContactPoint.objects.filter(customer_id__in=part).values_list(
            "customer_id", "kind"
        ):
            kinds[customer_id].add(kind)
    with transaction.atomic():
        counts = _membrane_customers_write(rng, now, customer_ids, languages, kinds, wordings)
    counts["messages"] = _messages_save()
    counts["campaigns"], counts["decisions"] = _campaigns_save(now)
    return counts


def _membrane_customers_write(rng, now, customer_ids, languages, kinds, wordings) -> dict:
    """The consent ledger, do-not-contact entries and preferences, written set-wise.

    Demo seeding is the one place that writes the ledger directly, without consent_record:
    one service call per consent would take minutes for 5,000 customers. The rows, their
    states (the latest event wins) and their audit lines are those the services would write.
    """
    has_consents, has_preferences, blocked = set(), set(), set()
    for start in range(0, len(customer_ids), 5000):
        part = customer_ids[start : start + 5000]
        has_consents.update(
            ConsentState.objects.filter(customer_id__in=part).values_list("customer_id", flat=True)
        )
        has_preferences.update(
            Preference.objects.filter(customer_id__in=part).values_list("customer_id", flat=True)
        )
        blocked.update(
            DoNotContact.objects.filter(customer_id__in=part, lifted_at__isnull=True).values_list(
                "customer_id", "channel"
            )
        )
    events, latest, preferences, do_not_contact, audit = [], {}, [], [], []
    accessible_done = False
    for customer_id in customer_ids:
        language = languages.get(customer_id, "fr")
        reachable = kinds.get(customer_id, set())
        # Every customer draws the same numbers whatever is written, so that one customer
        # skipped on a second run does not shift everyone after them.
        plan = _consent_plan(rng, now, reachable)
        dnc_roll, dnc_pick = rng.random(), _weighted(rng, DO_NOT_CONTACT_REASONS)
        preference_roll = rng.random()
        preference = _preference_plan(rng, now, language, accessible=not accessible_done)
        if plan and customer_id not in has_consents:
            wording = wordings.get(language, wordings["fr"])
            for purpose, channel, granted, at, source, ip in plan:
                agent = "Mozilla/5.0 (demo)" if ip else ""
                events.append(
                    (customer_id, purpose, channel, granted, at, now, source, wording.pk)
                    + (None, ACTOR.label, ip, agent, "")  # actor, who, IP, browser, note
                )
                latest[(customer_id, purpose, channel)] = (granted, len(events) - 1, at)
                audit.append(
                    AuditEntry(
                        actor_label=ACTOR.label,
                        action="consent_granted" if granted else "consent_withdrawn",
                        target=f"consent:{purpose}/{channel}",
                        customer_id=customer_id,
                        changes={"source": source, "wording": wording.sha256[:12]},
                        via=ACTOR.via,
                    )
                )
        channel, reason = dnc_pick
        if dnc_roll < 0.015 and (customer_id, channel) not in blocked:
            do_not_contact.append(
                DoNotContact(
                    customer_id=customer_id, channel=channel, reason=reason, created_by=ACTOR.label
                )
            )
            audit.append(
                AuditEntry(
                    actor_label=ACTOR.label,
                    action="do_not_contact",
                    target=f"channel:{channel}",
                    customer_id=customer_id,
                    changes={"reason": reason},
                    via=ACTOR.via,
                )
            )
        if preference_roll < 0.15 and customer_id not in has_preferences:
            accessible_done = accessible_done or "no_digital" in preference["accessibility"]
            preferences.append(Preference(customer_id=customer_id, **preference))
            audit.append(
                AuditEntry(
                    actor_label=ACTOR.label,
                    action="preferences",
                    target="preferences",
                    customer_id=customer_id,
                    changes={
                        k: _json_safe(v) for k, v in preference.items() if v not in (None, [], {})
                    },
                    via=ACTOR.via,
                )
            )
    event_ids = insert_rows(ConsentEvent, CONSENT_EVENT_COLUMNS, events)
    insert_rows(
        ConsentState,
        ["customer_id", "purpose", "channel", "granted", "event_id", "changed_at"],
        [
            (customer_id, purpose, channel, granted, event_ids[position], at)
            for (customer_id, purpose, channel), (granted, position, at) in latest.items()
        ],
    )
    DoNotContact.objects.bulk_create(do_not_contact, batch_size=2000)
    Preference.objects.bulk_create(preferences, batch_size=2000)
    AuditEntry.objects.bulk_create(audit, batch_size=2000)
    return {
        "consent_events": len(events),
        "do_not_contact": len(do_not_contact),
        "preferences": len(preferences),
    }


def _consent_plan(rng: random.Random, now: datetime, reachable: set) -> list[tuple]:
    """(purpose, channel, granted, when, source, IP address) in time order, for one customer."""
    plan = []
    for purpose, channel, kind, granted_share, withdrawn_share in CONSENT_PLAN:
        roll, age, later = rng.random(), rng.uniform(20, 500), rng.uniform(0.2, 0.9)
        source, withdrawal_source = (
            _weighted(rng, GRANT_SOURCES),
            _weighted(rng, WITHDRAWAL_SOURCES),
        )
        ip = f"198.51.100.{rng.randint(1, 254)}"  # a documentation range, never a real address
        if kind not in reachable or roll >= granted_share + withdrawn_share:
            continue
        given_at = now - timedelta(days=age)
        plan.append(
            (purpose, channel, True, given_at, source, ip if source == "web_form" else None)
        )
        if roll >= granted_share:  # given, then taken back
            withdrawn_at = given_at + (now - given_at) * later
            web = withdrawal_source == "preference_centre"
            plan.append(
                (purpose, channel, False, withdrawn_at, withdrawal_source, ip if web else None)
            )
    return plan


def _preference_plan(rng: random.Random, now: datetime, language: str, *, accessible: bool) -> dict:
    """Contact preferences as the preference centre would save them."""
    topics = PREFERENCE_TOPICS[0 if language == "fr" else 1]
    quiet_start, quiet_end = QUIET_HOURS[rng.randrange(len(QUIET_HOURS))]
    preference = {
        "channels": list(PREFERRED_CHANNELS[rng.randrange(len(PREFERRED_CHANNELS))]),
        "topics": sorted(rng.sample(topics, rng.randint(0, 3))),
        "max_per_week": rng.choice([None, None, 1, 2, 3]),
        "max_per_month": rng.choice([None, None, 4, 8]),
        "purpose_caps": dict(PURPOSE_CAPS[rng.randrange(len(PURPOSE_CAPS))]),
        "quiet_start": quiet_start,
        "quiet_end": quiet_end,
        "quiet_days": rng.choice([[], [], [6], [5, 6]]),
        "accessibility": [],
        "marketing_paused_until": None,
    }
    pause = rng.randint(7, 60)
    if rng.random() < 0.08:
        preference["marketing_paused_until"] = (now + timedelta(days=pause)).date()
    if accessible:  # one customer reads large print and wants no digital channel
        preference["channels"] = ["postal", "phone"]
        preference["accessibility"] = ["no_digital", "large_print"]
    return preference


def _messages_save() -> int:
    """The demo messages, unless messages of the same names exist already."""
    saved = 0
    for name, purpose, topics, priority, team, texts in DEMO_MESSAGES:
        if Message.objects.filter(name=name).exists():
            continue
        membrane_services.message_create(
            actor=ACTOR,
            name=name,
            purpose=purpose,
            topics=topics,
            priority=priority,
            team_id=Team.objects.filter(code=team).values_list("pk", flat=True).first(),
            variants=_variants(texts),
        )
        saved += 1
    return saved


def _campaigns_save(now: datetime) -> tuple[int, int]:
    """One campaign decided (its deliveries wait for the worker) and one draft with a dry run."""
    saved = decided = 0
    for name, message_name, segment_name, run in DEMO_CAMPAIGNS:
        message = Message.objects.filter(name=message_name).first()
        segment = Segment.objects.filter(name__iexact=segment_name).first()
        if message is None or segment is None or Campaign.objects.filter(name=name).exists():
            continue  # staff may have removed what it needs, or it was saved already
        campaign = membrane_services.campaign_create(
            actor=ACTOR,
            name=name,
            message=message,
            segment=segment,
            scheduled_at=now - timedelta(hours=2) if run else _next_week_morning(now),
        )
        saved += 1
        if run:
            results = membrane_services.campaign_run(campaign_id=campaign.pk, now=now)
            decided += sum(results["outcomes"].values())
        else:
            membrane_services.campaign_dry_run(campaign=campaign, now=now)
    return saved, decided


def _next_week_morning(now: datetime) -> datetime:
    """10:00 in Paris a week from now: when a marketer would plan a campaign to go out."""
    local = (now.astimezone(PARIS) + timedelta(days=7)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    return local.astimezone(ZoneInfo("UTC"))
