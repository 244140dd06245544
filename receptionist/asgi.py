"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

application = get_asgi_application()

# Imported after setup: settings are loaded by now.
from receptionist.serving import require_secret_key  # noqa: E402

require_secret_key()
