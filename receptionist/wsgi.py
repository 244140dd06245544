"""WSGI entry point (gunicorn receptionist.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

application = get_wsgi_application()

# Imported after setup: settings are loaded by now.
from receptionist.serving import require_secret_key, warm_up  # noqa: E402

require_secret_key()

# Load what every request needs (the URLconf and the views it imports, both template
# engines), then move everything loaded so far out of the garbage collector's sight: it
# lives as long as the process, and a full collection walked all of it every few requests,
# a pause of milliseconds on an unlucky page (README, "Speed").
warm_up()
gc.freeze()
