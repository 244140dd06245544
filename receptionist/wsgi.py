"""WSGI entry point (gunicorn receptionist.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

application = get_wsgi_application()

# Imported after setup: settings are loaded by now.
from receptionist.serving import require_secret_key  # noqa: E402

require_secret_key()
