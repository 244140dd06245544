"""WSGI entry point (gunicorn receptionist.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

application = get_wsgi_application()
