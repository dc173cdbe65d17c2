"""A person at a real browser: log in, find a customer, open their timeline (FR and EN)."""

import pytest
from django.contrib.auth.models import Group, User

from cxcore.console.roles import roles_sync
from cxcore.customers.services import customer_scores_refresh
from cxcore.interactions.ingest import References, RowValidator
from cxcore.interactions.models import Touchpoint
from cxcore.interactions.services import interactions_ingest
from cxcore.lib.actor import Actor
from cxcore.test import CHROMIUM_MISSING, chromium_available

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not chromium_available(), reason=CHROMIUM_MISSING),
]


@pytest.fixture
def company():
    roles_sync()
    agent = User.objects.create_user("bob", "bob@example.org", "correct horse battery")
    agent.groups.add(Group.objects.get(name="agent"))
    Touchpoint.objects.create(
        code="lille-phone",
        name_en="Lille store phone welcome",
        name_fr="Accueil téléphonique Lille",
        kind="phone_reception",
    )
    validator = RowValidator(References.load(), default_source="test")
    rows = []
    for day, outcome in ((3, "long_wait"), (10, "resolved")):
        row, errors = validator.validate(
            {
                "occurred_at": f"2026-11-{day:02d}T10:00:00+01:00",
                "touchpoint": "lille-phone",
                "channel": "phone",
                "outcome": outcome,
                "email": "camille.martin@example.fr",
                "first_name": "Camille",
                "last_name": "Martin",
            }
        )
        assert not errors
        rows.append(row)
    interactions_ingest(rows, actor=Actor(via="test"), refresh_scores=False)
    customer_scores_refresh()
    return agent


@pytest.mark.parametrize(
    ("language", "login_button", "search_label", "timeline_heading", "touchpoint_name"),
    [
        ("en", "Log in", "Search", "Timeline", "Lille store phone welcome"),
        ("fr", "Se connecter", "Rechercher", "Historique", "Accueil téléphonique Lille"),
    ],
)
def test_an_agent_finds_a_customer_and_reads_their_timeline(
    company,  # first: its ORM calls must not run inside Playwright's event loop
    live_server,
    browser,
    language,
    login_button,
    search_label,
    timeline_heading,
    touchpoint_name,
):
    context = browser.new_context(locale=language, extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    page.set_default_timeout(60_000)  # generous: CI machines are small and may be busy
    page.goto(f"{live_server.url}/customers/")
    assert page.locator("html").get_attribute("lang") == language

    page.get_by_label("Username" if language == "en" else "Nom d’utilisateur").fill("bob")
    page.get_by_label("Password" if language == "en" else "Mot de passe").fill(
        "correct horse battery"
    )
    page.get_by_role("button", name=login_button).click()

    page.get_by_label(search_label, exact=True).fill("camille.martin@example.fr")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Camille Martin").click()

    page.get_by_role("heading", name=timeline_heading).wait_for()
    timeline = page.locator("ol.timeline")
    assert timeline.locator("li").count() == 2
    assert touchpoint_name in timeline.inner_text()
    assert "long_wait" in timeline.inner_text()
    context.close()
