"""`manage.py check --deploy` passes with production settings and flags a missing SECRET_KEY."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

REPO_ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = {
    "DEBUG": "0",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_COOKIES": "1",
}
# Only what a process needs to start: nothing leaks in from the shell or the test run
# (a SECRET_KEY, DEBUG, or DJANGO_ALLOW_ASYNC_UNSAFE set by browser tests).
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def deploy_check(**overrides: str) -> subprocess.CompletedProcess:
    env = {name: os.environ[name] for name in KEPT if name in os.environ}
    env.update(PRODUCTION)
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class DeployCheckTests(SimpleTestCase):
    def test_it_runs_from_the_repository_root(self):
        self.assertTrue((REPO_ROOT / "manage.py").is_file())

    def test_it_passes_with_production_settings(self):
        result = deploy_check(SECRET_KEY=secrets.token_urlsafe(64))

        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, output)
        self.assertIn("no issues", output)
        self.assertNotIn("WARNING", output)

    def test_it_reports_a_missing_secret_key(self):
        result = deploy_check()

        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn("security.W009", output)

    def test_it_reads_the_secret_key_from_a_file(self):
        key_file = REPO_ROOT / "var" / f"test-secret-{secrets.token_hex(4)}"
        key_file.parent.mkdir(exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(64) + "\n")
        self.addCleanup(key_file.unlink)

        result = deploy_check(SECRET_KEY_FILE=str(key_file))

        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
