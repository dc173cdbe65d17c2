"""WSGI entry point for gunicorn (`cxcore serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxcore.settings")
application = get_wsgi_application()
