"""Who may open what in the console: declared permissions, roles, navigation, login and language."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation

from cxcore.api.models import ApiToken
from cxcore.console.context import NAVIGATION
from cxcore.console.roles import ROLE_PERMISSIONS
from cxcore.customers.models import AuditEntry, ContactPoint, CustomerMerge, Segment
from cxcore.customers.tests.factories import make_customer
from cxcore.interactions.models import ImportJob
from cxcore.test import BaseTestCase

PASSWORD = "correct horse battery"
_CONVERTER = re.compile(r"<(?:\w+:)?\w+>")


def console_views() -> list[tuple[str, str, object]]:
    """(route, url name, view) of every staff page cxcore serves (not the API, admin, auth,
    the customers' portal, whose pages are opened by signed links, never by login, or the
    providers' hooks in `hooks` modules, which sign their requests)."""
    found = []

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver) and pattern.namespace == "portal":
                continue
            if isinstance(pattern, URLResolver):
                walk(
                    pattern.url_patterns,
                    prefix + str(pattern.pattern),
                    pattern.namespace or namespace,
                )
            elif (
                isinstance(pattern, URLPattern)
                and pattern.callback.__module__.startswith("cxcore.")
                and not pattern.callback.__module__.endswith(".hooks")
            ):
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found.append((prefix + str(pattern.pattern), name, pattern.callback))

    walk(get_resolver().url_patterns, "/", None)
    return found


def concrete(route: str, pk: int = 1) -> str:
    return _CONVERTER.sub(str(pk), route)


class DeclaredPermissionTests(BaseTestCase):
    def test_it_finds_the_console_pages(self):
        names = {name for _route, name, _view in console_views()}

        for expected in (
            "console:home",
            "customers:list",
            "customers:merge",
            "api:tokens",
            "interactions:imports",
            "customers:audit",
        ):
            self.assertIn(expected, names)
        self.assertFalse(any(name and name.startswith("rest:") for name in names))

    def test_it_has_every_console_view_declare_its_permissions(self):
        for route, name, view in console_views():
            with self.subTest(route=route, name=name):
                self.assertTrue(
                    hasattr(view, "required_permissions"),
                    f"{name} ({route}) does not use role_required",
                )

    def test_it_declares_only_permissions_that_exist(self):
        for _route, name, view in console_views():
            for permission in getattr(view, "required_permissions", ()):
                with self.subTest(name=name, permission=permission):
                    app_label, _dot, codename = permission.partition(".")
                    self.assertTrue(
                        Permission.objects.filter(
                            content_type__app_label=app_label, codename=codename
                        ).exists()
                    )

    def test_it_grants_only_permissions_that_exist(self):
        for role, permissions in ROLE_PERMISSIONS.items():
            for permission in permissions:
                with self.subTest(role=role, permission=permission):
                    app_label, _dot, codename = permission.partition(".")
                    self.assertTrue(
                        Permission.objects.filter(
                            content_type__app_label=app_label, codename=codename
                        ).exists()
                    )


class AccessTests(BaseTestCase):
    def setUp(self):
        self.customer = make_customer("Marie", "Secretname", email="marie@example.org")

    def request(self, path: str):
        """GET the page; pages that only take POST are posted to."""
        response = self.client.get(path)
        if response.status_code == 405:
            response = self.client.post(path, {"other": "C1", "kind": "email", "value": "x@y.org"})
        return response

    def test_it_sends_anonymous_visitors_to_the_login_page(self):
        for route, name, _view in console_views():
            with self.subTest(name=name):
                path = concrete(route, self.customer.pk)
                response = self.request(path)
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response["Location"], f"{reverse('login')}?next={path}")
        self.assertEqual(AuditEntry.objects.count(), 0)

    def test_it_refuses_every_area_to_the_outsider(self):
        self.client.force_login(self.outsider)

        for route, name, _view in console_views():
            if name == "console:home":
                continue
            with self.subTest(name=name):
                response = self.request(concrete(route, self.customer.pk))
                self.assertEqual(response.status_code, 403)
                self.assertNotIn(b"Secretname", response.content)
                self.assertNotIn(b"marie@example.org", response.content)
        self.customer.refresh_from_db()
        self.assertIsNone(self.customer.merged_into)
        self.assertEqual(ContactPoint.objects.count(), 1)
        self.assertFalse(Segment.objects.exists())
        self.assertFalse(ApiToken.objects.exists())
        self.assertFalse(ImportJob.objects.exists())
        self.assertFalse(CustomerMerge.objects.exists())
        self.assertEqual(AuditEntry.objects.count(), 0)

    def test_it_shows_the_outsider_an_overview_without_figures(self):
        self.client.force_login(self.outsider)

        response = self.client.get("/")

        self.assertEqual(response.status_code, 200)
        for figure in ("customer_count", "by_channel", "open_conflicts"):
            self.assertNotIn(figure, response.context)

    def test_it_never_shows_the_outsider_a_customer(self):
        self.client.force_login(self.outsider)

        page = self.client.get(f"/customers/{self.customer.pk}/")
        api = self.client.get(f"/api/customers/{self.customer.pk}")
        timeline = self.client.get(f"/api/customers/{self.customer.pk}/timeline")

        for response in (page, api, timeline):
            self.assertIn(response.status_code, (403, 404))
            self.assertNotIn(b"Secretname", response.content)
            self.assertNotIn(b"marie@example.org", response.content)
        self.assertEqual(AuditEntry.objects.count(), 0)

    def test_it_answers_404_for_a_customer_that_does_not_exist(self):
        self.client.force_login(self.agent)

        self.assertEqual(self.client.get("/customers/999999999/").status_code, 404)
        self.assertEqual(self.client.get("/api/customers/999999999").status_code, 404)


class NavigationTests(BaseTestCase):
    def users(self):
        return [
            (self.admin, "admin"),
            (self.manager, "manager"),
            (self.agent, "agent"),
            (self.analyst, "analyst"),
            (self.marketer, "marketer"),
            (self.auditor, "auditor"),
            (self.outsider, None),
        ]

    def expected_items(self, role: str | None) -> list[str]:
        granted = set(ROLE_PERMISSIONS.get(role, ()))
        return [
            name for name, _label, perm, _prefix in NAVIGATION if perm is None or perm in granted
        ]

    def test_it_shows_each_role_exactly_its_navigation(self):
        for user, role in self.users():
            with self.subTest(role=role):
                self.client.force_login(user)
                response = self.client.get("/")
                self.assertEqual(response.status_code, 200)
                urls = [item["url"] for item in response.context["nav_items"]]
                self.assertEqual(urls, [reverse(name) for name in self.expected_items(role)])
                for url in urls:
                    self.assertContains(response, f'href="{url}"')

    def test_it_opens_exactly_the_areas_each_role_sees(self):
        for user, role in self.users():
            visible = set(self.expected_items(role))
            self.client.force_login(user)
            for name, _label, _perm, _prefix in NAVIGATION:
                with self.subTest(role=role, area=name):
                    status = self.client.get(reverse(name)).status_code
                    self.assertEqual(status, 200 if name in visible else 403)

    def test_it_gives_the_admin_every_navigation_item(self):
        self.assertEqual(self.expected_items("admin"), [name for name, _l, _p, _x in NAVIGATION])


class LoginTests(BaseTestCase):
    def test_it_shows_the_login_page(self):
        response = self.client.get("/login/")

        self.assertEqual(response.status_code, 200)
        self.assertIn("form", response.context)

    def test_it_logs_a_user_in(self):
        response = self.client.post("/login/", {"username": "bob", "password": PASSWORD})

        self.assertRedirects(response, "/")
        self.assertEqual(int(self.client.session["_auth_user_id"]), self.agent.pk)
        self.assertEqual(self.client.get("/customers/").status_code, 200)

    def test_it_returns_to_the_page_asked_for_after_login(self):
        response = self.client.post(
            "/login/?next=/customers/",
            {"username": "bob", "password": PASSWORD, "next": "/customers/"},
        )

        self.assertRedirects(response, "/customers/")

    def test_it_refuses_a_wrong_password(self):
        response = self.client.post("/login/", {"username": "bob", "password": "wrong"})

        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].non_field_errors())
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_it_refuses_a_deactivated_user(self):
        self.agent.is_active = False
        self.agent.save()

        response = self.client.post("/login/", {"username": "bob", "password": PASSWORD})

        self.assertEqual(response.status_code, 200)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_it_logs_out_on_post_only(self):
        self.client.force_login(self.agent)

        self.assertEqual(self.client.get("/logout/").status_code, 405)
        self.assertIn("_auth_user_id", self.client.session)
        response = self.client.post("/logout/")

        self.assertRedirects(response, "/login/")
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertRedirects(self.client.get("/"), "/login/?next=/")

    def test_it_changes_the_password(self):
        self.client.force_login(self.agent)
        new = "a brand new horse 2026"

        response = self.client.post(
            "/password/",
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )

        self.assertRedirects(response, "/password/done/")
        self.agent.refresh_from_db()
        self.assertTrue(self.agent.check_password(new))
        self.assertEqual(self.client.get("/").status_code, 200)  # still logged in

    def test_it_refuses_a_password_change_without_the_old_password(self):
        self.client.force_login(self.agent)
        new = "a brand new horse 2026"

        response = self.client.post(
            "/password/", {"old_password": "guess", "new_password1": new, "new_password2": new}
        )

        self.assertEqual(response.status_code, 200)
        self.assertIn("old_password", response.context["form"].errors)
        self.agent.refresh_from_db()
        self.assertTrue(self.agent.check_password(PASSWORD))

    def test_it_requires_login_for_the_password_change(self):
        response = self.client.get("/password/")

        self.assertRedirects(response, "/login/?next=/password/")


class LanguageTests(BaseTestCase):
    CATALOGUE = Path(settings.BASE_DIR) / "cxcore" / "locale" / "fr" / "LC_MESSAGES" / "django.mo"

    def test_it_switches_the_console_to_french(self):
        self.client.force_login(self.agent)
        english = self.client.get("/customers/")
        self.assertContains(english, '<html lang="en">')

        response = self.client.post("/i18n/setlang/", {"language": "fr", "next": "/customers/"})

        self.assertRedirects(response, "/customers/")
        french = self.client.get("/customers/")
        self.assertContains(french, '<html lang="fr">')
        if self.CATALOGUE.exists():
            with translation.override("fr"):
                translated = str(translation.gettext("Customers"))
            self.assertNotEqual(translated, "Customers", "the French catalogue lacks 'Customers'")
            self.assertContains(french, translated)

    def test_it_switches_back_to_english(self):
        self.client.force_login(self.agent)
        self.client.post("/i18n/setlang/", {"language": "fr", "next": "/"})

        self.client.post("/i18n/setlang/", {"language": "en", "next": "/"})

        self.assertContains(self.client.get("/"), '<html lang="en">')

    def test_it_shows_the_login_page_in_french_too(self):
        self.client.post("/i18n/setlang/", {"language": "fr", "next": "/login/"})

        self.assertContains(self.client.get("/login/"), '<html lang="fr">')
