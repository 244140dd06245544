"""WSGI entry point (gunicorn receptionist.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

application = get_wsgi_application()

# Imported after setup: settings are loaded by now.
from receptionist.serving import (  # noqa: E402
    collect_garbage_after_responses,
    require_secret_key,
    warm_up,
)

require_secret_key()

# Load what every request needs (the URLconf and the views it imports, both template
# engines), then move everything loaded so far out of the garbage collector's sight: it
# lives as long as the process, and a full collection walked all of it every few requests,
# a pause of milliseconds on an unlucky page (README, "Speed").
warm_up()
gc.freeze()
# A page builds some hundred thousand short-lived objects (rows, template output), which
# at the default threshold of 700 set off about 150 young collections and 15 older ones
# per page. Almost none of them is in a cycle: reference counting frees them. Collecting
# every 50,000 allocations instead takes 3 to 13% off a page (README, "Speed"); cycles are
# still collected, a little later: between requests, once the response has gone out
# (collect_garbage_after_responses), the threshold being the backstop.
gc.set_threshold(50_000, 50, 100)
collect_garbage_after_responses()
