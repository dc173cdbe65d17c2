"""Test-wide settings: tasks run immediately in-process, static files need no collectstatic."""

import os

import pytest

# Playwright's sync API keeps an event loop in the main thread; the browser tests make their ORM
# calls before the browser starts, so Django's async-safety guard is relaxed for the test run.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    from django.conf import settings

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "imports", "membrane"],
        }
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_AUTOREFRESH = True
    # Persistent connections would outlive the live server's threads and block the test
    # database's teardown on PostgreSQL.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture
def browser():
    """Debian's headless Chromium through Playwright (Playwright's own browsers are never
    downloaded)."""
    from playwright.sync_api import sync_playwright

    from cxcore.test import CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()
