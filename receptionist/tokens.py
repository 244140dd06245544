"""API tokens: made, found and revoked here, the one gate for them (the page and the API's
authentication call these functions).

A token is "fd_" and 43 random URL-safe characters (256 bits): so long a secret needs no
slow hash, and the SHA-256 digest kept in the database is useless to whoever reads it.
"""

import hashlib
import secrets
from datetime import UTC, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from receptionist import auth
from receptionist.models import ApiToken

PREFIX = "fd_"
# How many live tokens one person may hold (each integration its own).
MOST_LIVE = 20
# last_used_at is written at most this often per token: not a write per request.
USE_RECORDED_EVERY = timedelta(minutes=5)


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`, named `name`: the row and the token itself (shown once)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if "\x00" in name:
        raise ValidationError({"name": "A name cannot hold a NUL character."})
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError({"name": "At most 100 characters."})
    # The person's row lock: two tokens made at once are counted one after the other.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if ApiToken.objects.live().filter(user=user).count() >= MOST_LIVE:
        raise ValidationError(
            {"name": f"You hold {MOST_LIVE} tokens: revoke one you no longer use first."}
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[: len(PREFIX) + 4], digest=digest_of(raw)
    )
    return token, raw


def token_revoke(*, user, token_id: int) -> ApiToken:
    """Revoke one of `user`'s own tokens (revoking twice is harmless)."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise ValidationError({"token": "No such token of yours."})
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db()
    return token


def token_user(raw: str):
    """The active person a live token belongs to, or None: the token, the person and their
    permissions read in one statement, as a page's session is (receptionist/sessions.py)."""
    if not raw.startswith(PREFIX) or len(raw) > 100 or not raw.isascii():
        return None
    users = get_user_model()._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.last_used_at, {auth.user_columns_sql('u')} "
            f"FROM {ApiToken._meta.db_table} t "
            f"JOIN {users.db_table} u ON u.{users.pk.column} = t.user_id "
            "WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active",
            [digest_of(raw)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    pk, last_used_at, *columns = row
    now = timezone.now()
    if isinstance(last_used_at, str):  # SQLite hands a raw statement its times as text
        last_used_at = parse_datetime(last_used_at)
    if last_used_at is not None and timezone.is_naive(last_used_at):
        last_used_at = timezone.make_aware(last_used_at, UTC)
    if last_used_at is None or now - last_used_at > USE_RECORDED_EVERY:
        ApiToken.objects.filter(pk=pk).update(last_used_at=now)
    return auth.user_from_row(columns)
