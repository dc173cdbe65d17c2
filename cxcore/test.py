"""Base test case with named users, one per role, and an outsider who must get nothing; and
the headless Chromium that browser tests drive (the `browser` fixture is in conftest.py)."""

import os
import shutil

from django.contrib.auth.models import Group, User
from django.test import TestCase

from cxcore.console.roles import roles_sync


def make_user(username: str, role: str | None = None, **extra) -> User:
    user = User.objects.create_user(
        username, f"{username}@example.org", "correct horse battery", **extra
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


class BaseTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        roles_sync()
        cls.admin = make_user("alice", "admin", is_staff=True)
        cls.manager = make_user("maud", "manager")
        cls.agent = make_user("bob", "agent")
        cls.analyst = make_user("ana", "analyst")
        cls.marketer = make_user("marc", "marketer")
        cls.auditor = make_user("aude", "auditor")
        cls.outsider = make_user("olivia")  # logged in, but holds no role


CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_MISSING = "Debian's chromium package is not installed (make test installs it)"


def chromium_available() -> bool:
    # On CI a missing browser must fail the run, not skip it.
    return os.path.exists(CHROMIUM) or bool(os.environ.get("CI"))
