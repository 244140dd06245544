"""Settings for the front desk call log, read from the environment."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# Without SECRET_KEY, commands that serve no one (check, makemigrations, tests) still run;
# serving is refused by receptionist.serving.require_secret_key in wsgi.py and asgi.py.
SECRET_KEY_FROM_ENVIRONMENT = bool(os.environ.get("SECRET_KEY"))
SECRET_KEY = os.environ.get("SECRET_KEY") or "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "template_partials",
    "django_filters",
    "phonenumber_field",
    "simple_history",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "receptionist",
    "callers",
    "calls",
    "followups",
]

MIDDLEWARE = [
    # First: /healthz answers whatever the Host header says (see the middleware).
    "receptionist.middleware.HealthCheckMiddleware",
    # Nothing the app answers stays in a shared computer's browser cache (the middleware),
    # the redirect to HTTPS included (its address may hold a search).
    "receptionist.middleware.NoStoreMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "receptionist.middleware.RefuseNulInQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A session idle for SESSION_IDLE_MINUTES ends (shared front-desk computers).
    "receptionist.idle.IdleSessionMiddleware",
    "receptionist.middleware.HtmxLoginRedirectMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes last of those that wrap the response, as its documentation asks.
    "axes.middleware.AxesMiddleware",
    # Each POST in one transaction (ATOMIC_REQUESTS for writes only: the middleware says why).
    "receptionist.middleware.AtomicWritesMiddleware",
]

ROOT_URLCONF = "receptionist.urls"
WSGI_APPLICATION = "receptionist.wsgi.application"
ASGI_APPLICATION = "receptionist.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": [
                "receptionist.templatetags.jinja",
                "receptionist.templatetags.people",
                "receptionist.templatetags.words",
            ],
        },
    },
    {
        # The hot pages and parts of pages (receptionist/jinja2.py says why).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "receptionist.jinja2.environment",
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# A SQLite file is the zero-setup default; production and CI use PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Requests that write run in one transaction: receptionist.middleware.AtomicWritesMiddleware.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Two people saving at once on the zero-setup database: each write transaction takes
    # the write lock when it begins and waits its turn (up to 20 s), instead of failing
    # with "database is locked" halfway through; WAL lets readers go on meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    # A file, not memory, for the test database: with an in-memory one every thread of the
    # browser tests' live server shares one connection, so two requests at once (a page
    # polling while a form posts) interleave their transactions.
    # Beside the database's own file ("test-" before its name: test-db.sqlite3 by default),
    # so that two checkouts or two runs with their own DATABASE_URL never share one.
    _sqlite_file = Path(DATABASES["default"]["NAME"])
    _test_file = _sqlite_file.with_name(f"test-{_sqlite_file.name}")
    DATABASES["default"]["TEST"] = {"NAME": str(_test_file)}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Short queries only: PostgreSQL's JIT compiler spends a second compiling a search
    # that runs in milliseconds (its cost estimate counts the rows it will never read).
    # plan_cache_mode stays PostgreSQL's own (auto): a prepared statement may keep one
    # generic plan, which saves planning on every list; the statements whose best plan
    # depends on their values (a search, a caller's calls) are never prepared, and are
    # planned for their values each time (receptionist.plans).
    # A page read from an index costs about what a page read in order does
    # (random_page_cost 1.1, the usual value for SSDs and data held in memory): at 4, the
    # planner read all 100,000 callers to find the 900 a partial number matched (31 ms
    # instead of 5).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off -c random_page_cost=1.1"
    # A long list (every choice of a select) is read in one round trip, not through a
    # server-side cursor (DECLARE, FETCH, CLOSE); this also keeps a transaction pooler
    # such as PgBouncer safe to put in front.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Statements a connection has run twice are prepared (psycopg 3, the values sent apart
    # from the SQL): PostgreSQL parses each once per connection instead of once per
    # request (README, "Speed"). A transaction-mode pooler without prepared-statement
    # support (PgBouncer before 1.21) needs DATABASE_PREPARED_STATEMENTS=0.
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 2
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading a person's permissions in one query.
    "receptionist.auth.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "receptionist.passwords.MaximumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_ENGINE = "receptionist.sessions"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(60 * 60 * 12)))
# Shared front-desk computers: a session with nothing done for this long ends (0: never).
# The page warns a minute before and keeps what was being typed (receptionist/idle.py).
SESSION_IDLE_SECONDS = max(0, round(float(os.environ.get("SESSION_IDLE_MINUTES", "15")) * 60))

# Fields one request may send (Django's guard against a flood of them: 1,000 by default).
# The largest form is a business's on-call page at its limits (callers.forms): 50 weekly
# slots of 8 fields (day, from, to, four people, remove) and 100 exceptions of 10 (two
# days, two times, a note, four people, remove), 8 of the two row counts, 3 of how
# messages are confirmed and the CSRF token: 1,412. Django's 1,000 refused it whole (a
# 400, everything typed lost); tests/callers/test_on_call.py counts it again.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1500

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Numbers typed without a country code are read in this region.
PHONE_REGION = os.environ.get("PHONE_REGION", "US").upper()
PHONENUMBER_DEFAULT_REGION = PHONE_REGION
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Widget templates may live in templates/ (the call form's one-key radio buttons).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Login lockout: after AXES_FAILURE_LIMIT failures, logging in as that name from that address
# is locked for AXES_COOLOFF_HOURS after the last one; the page says until when.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "receptionist.lockout.locked_out"
# A refused attempt during a lock does not start the hour again (someone who keeps trying,
# or someone trying on their behalf, would keep them locked for good).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The address of a login: behind PROXY_COUNT proxies (the TLS proxy: 1 in production, none
# with DEBUG), the one the nearest proxy put last in X-Forwarded-For (receptionist.lockout).
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0" if DEBUG else "1"))
AXES_CLIENT_IP_CALLABLE = "receptionist.lockout.client_ip"

# The audit trail's reason for a change is text, not 100 characters: it names people and
# callers ("Merged caller #12 (…)", "Assigned to … by …"), and PostgreSQL refused a longer
# one (a merge of two long names answered 500).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Content-Security-Policy: nothing inline, nothing from another origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    # Production is HTTPS only, behind a TLS-terminating proxy (`python manage.py check
    # --deploy` with .env.example's values reports nothing: tests/test_deploy.py). To try it
    # over plain HTTP on one's own machine: SECURE_COOKIES=0 SECURE_SSL_REDIRECT=0.
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    # The proxy's X-Forwarded-Proto is trusted: gunicorn must be reachable from the proxy
    # alone (docker-compose publishes it on loopback only), or anyone could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # A year, the subdomains included (browsers then never speak plain HTTP to the site).
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # Off on purpose: the preload list is compiled into browsers and leaving it takes
    # months, a decision for the domain's owner (SECURE_HSTS_PRELOAD=1 once they submit the
    # domain at hstspreload.org). Its check (security.W021) is silenced while it is off.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Background work goes through the Tasks API. The immediate backend runs a task as soon
# as it is enqueued (always after the transaction commits); set TASKS_BACKEND=database
# to queue tasks in the database for `manage.py db_worker` (docker-compose's worker).
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_db.DatabaseBackend"
            if os.environ.get("TASKS_BACKEND") == "database"
            else "django_tasks.backends.immediate.ImmediateBackend"
        )
    }
}

# E-mail: notices to managers. The console backend prints them when DEBUG is on.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds the SMTP connection may wait on the server (Django's default: forever). A notice
# to someone on call must fail in good time, well within the shortest confirmation window,
# for the ladder to move on to the next person.
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT_SECONDS", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "front-desk@localhost")
# Links in e-mails point here.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Escalations: minutes a manager has to acknowledge one (fewer for abuse).
ESCALATION_ACK_MINUTES = int(os.environ.get("ESCALATION_ACK_MINUTES", "10"))
ESCALATION_ACK_MINUTES_ABUSIVE = int(os.environ.get("ESCALATION_ACK_MINUTES_ABUSIVE", "5"))

# Callbacks: "at risk" = due within this many minutes and not claimed; a claim with no
# attempt for CALLBACK_CLAIM_MINUTES goes back to the team; the sweep sends the "due soon"
# reminder CALLBACK_REMIND_MINUTES before the due time.
CALLBACK_AT_RISK_MINUTES = int(os.environ.get("CALLBACK_AT_RISK_MINUTES", "30"))
CALLBACK_CLAIM_MINUTES = int(os.environ.get("CALLBACK_CLAIM_MINUTES", "30"))
CALLBACK_REMIND_MINUTES = int(os.environ.get("CALLBACK_REMIND_MINUTES", "15"))

# Seconds a process keeps the list of front desk staff its filter bars offer ("Taken by").
STAFF_CHOICES_SECONDS = int(os.environ.get("STAFF_CHOICES_SECONDS", "60"))
# How long a process keeps the active businesses the call form offers (callers.models).
BUSINESSES_SECONDS = int(os.environ.get("BUSINESSES_SECONDS", "30"))

# Page sizes of the keyset-paginated lists: about a screenful at 1366x768 (the front desk's
# usual screen shows some twenty rows); "Older calls" (or "More") adds the next rows in place.
# Drawing rows is most of a list page's time: 25 keep every list within the render budget
# (README, "Speed").
CALLS_PAGE_SIZE = 25
CALLERS_PAGE_SIZE = 25
CALLBACKS_PAGE_SIZE = 25

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# The REST API (/api/v1/, receptionist/api.py): the browser's session or a person's own token
# (receptionist.models.ApiToken, "Authorization: Bearer <token>"); every endpoint asks for a
# login and checks the person's role itself; JSON only; lists are paged by a cursor.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "receptionist.api_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["receptionist.api_parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "receptionist.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Front desk call log API",
    "DESCRIPTION": (
        "Callers, calls, escalations, callbacks and the screen pop of the front desk call log."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # No deep links: each is a link inside the button that opens an operation, a control
    # inside a control that screen readers do not announce (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Escalations and callbacks both have a "status": each its own named enum.
    "ENUM_NAME_OVERRIDES": {
        "EscalationStatusEnum": "calls.models.EscalationStatus",
        "CallbackStatusEnum": "followups.models.CallbackStatus",
    },
    "GET_LIB_DOC_EXCLUDES": "receptionist.api.doc_excludes",
}

# --- Webhooks (followups/webhooks.py; README, "Webhooks") ---------------------------------
# Seconds one try may take, from looking the host up to the answer's status line.
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
# Tries of one delivery before it is given up; after the n-th failed try the next waits
# WEBHOOK_RETRY_SECONDS * 2**(n-1): 1, 2, 4 ... 256 minutes, about 8.5 hours in all.
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "10"))
WEBHOOK_RETRY_SECONDS = int(os.environ.get("WEBHOOK_RETRY_SECONDS", "60"))
# An endpoint whose last this-many tries all failed is paused and the managers e-mailed.
WEBHOOK_PAUSE_AFTER_FAILURES = int(os.environ.get("WEBHOOK_PAUSE_AFTER_FAILURES", "15"))
# Whether an endpoint may be on this machine or inside its network (loopback, private and
# link-local addresses: a cloud's metadata service, the database). Off: a manager's webhook
# cannot be used to probe the network the app runs in. On for a receiver run beside it
# (and by default under DEBUG, as `make run` serves: a receiver tried on this machine).
WEBHOOK_PRIVATE_ADDRESSES = env_bool("WEBHOOK_PRIVATE_ADDRESSES", DEBUG)

# --- Confirmed delivery of urgent messages (followups/deliveries.py; README, "On call and
# confirmed delivery") ----------------------------------------------------------------------
# Hours a confirmation link in a notice works (no login needed; it confirms one message).
DELIVERY_LINK_HOURS = int(os.environ.get("DELIVERY_LINK_HOURS", "24"))
# How people on call are told, in order of preference: the first channel that can reach a
# person is used (followups/channels.py: e-mail now; an SMS or voice backend joins here).
DELIVERY_CHANNELS = env_list("DELIVERY_CHANNELS", "followups.channels.EmailChannel")
