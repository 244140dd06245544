"""The API's token authentication, apart from receptionist/api.py: DRF reads it from the
settings while its views module is still loading, so it imports no view."""

from rest_framework import authentication, exceptions

from receptionist.tokens import token_user


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: the token's person, or 401 for a token that is
    unknown, revoked, or whose person can no longer log in."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <token>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("A token is plain ASCII.") from None
        user = token_user(raw)
        if user is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        return (user, raw)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
