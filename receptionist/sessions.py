"""The session engine: Django's database sessions, refusing session keys it cannot have made.

A key with a NUL character in the cookie reached PostgreSQL (which refuses NUL in any
text) and failed every page, even /healthz. Keys Django makes are letters and digits; any
other key is treated as no session, so the visitor simply gets a new one.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and key.isascii() and key.isalnum()
