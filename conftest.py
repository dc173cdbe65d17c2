"""Test-wide settings: tasks run immediately in-process, so tests see their effects."""

import os

os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
