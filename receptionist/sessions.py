"""The session engine: Django's database sessions, refusing session keys it cannot have made,
and reading a session, its person and their permissions in one statement.

A key with a NUL character in the cookie reached PostgreSQL (which refuses NUL in any
text) and failed every page, even /healthz. Keys Django makes are letters and digits; any
other key is treated as no session, so the visitor simply gets a new one.

Every page reads its session and then its person. The session row keeps the id of the
person logged in (receptionist.models.Session.user_id, written when the session is saved),
so one plain statement reads the session, the person and their permissions (the same
columns as receptionist.auth's get_user), and the person is left for get_user: a page
pays one round trip, not three, for "whose session is this and what may they do".
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from receptionist import auth


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        from receptionist.models import Session

        return Session

    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and key.isascii() and key.isalnum()

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        try:
            session.user_id = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            session.user_id = None
        return session

    def _get_session_from_db(self):
        from django.contrib.auth import get_user_model

        table = self.model._meta.db_table
        users = get_user_model()._meta
        with self._cursor() as cursor:
            cursor.execute(
                f"SELECT s.session_data, s.expire_date, {auth.user_columns_sql('u')} "
                f"FROM {table} s LEFT JOIN {users.db_table} u ON u.{users.pk.column} = s.user_id "
                "WHERE s.session_key = %s AND s.expire_date > %s",
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            auth.read_with_the_session(None)
            self._session_key = None
            return None
        session_data, expire_date, *user = row
        auth.read_with_the_session(auth.user_from_row(user))
        return self.model(
            session_key=self.session_key, session_data=session_data, expire_date=expire_date
        )

    def _cursor(self):
        from django.db import connections, router

        return connections[router.db_for_read(self.model)].cursor()
