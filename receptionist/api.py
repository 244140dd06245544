"""The REST API's shared parts (/api/v1/; each app's endpoints are in its api.py).

- Authentication: the browser's session (with its CSRF check on writes), or a person's
  token (`Authorization: Bearer fd_...`, receptionist.tokens). Either way the API acts as
  that person, with their role and businesses, through the same QuerySet methods
  (`for_user`, `visible_to`) and services as the pages.
- Refusals: a service's ValidationError is a 400 with a message per field (DRF's shape:
  {"field": ["message"]}, "non_field_errors" for the record as a whole); a parameter the
  endpoint does not know, or a value outside the vocabulary, is a 400 too, never ignored.
- Pages: keyset pagination (receptionist.pagination) behind an opaque `cursor`; the
  answer is {"next": url or null, "results": [...]}.
"""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, QuerySet
from django.http import JsonResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from receptionist.pagination import KeysetPage, keyset_paginate


class TokenScheme(OpenApiAuthenticationExtension):
    """The token in the OpenAPI schema: HTTP bearer."""

    target_class = "receptionist.api_auth.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token made on /api/tokens/ (it acts as the person who made it).",
        }


def perm(*names: str):
    """A permission class: the person holds every one of these Django permissions (the
    roles of receptionist.roles give them)."""

    class HasPermissions(permissions.BasePermission):
        message = "Your role cannot do this."

        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(names))

    HasPermissions.__name__ = "Has_" + "_".join(n.replace(".", "_") for n in names)
    return HasPermissions


class ApiView(APIView):
    """An endpoint: the person must be logged in (session or token) and hold the
    permissions in `required` (a method's own in `required_for`). Exempt from the site's
    login redirect: an API answers 401 with a reason, it does not redirect to a form."""

    required: tuple[str, ...] = ()
    required_for: dict[str, tuple[str, ...]] = {}
    # The query parameters the endpoint reads; any other is a 400 (a typo is not ignored).
    known_params: frozenset[str] = frozenset()

    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))

    def get_permissions(self):
        names = self.required_for.get(self.request.method, self.required)
        return [permissions.IsAuthenticated(), *([perm(*names)()] if names else [])]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.known_params - {"format"})
        if unknown:
            raise exceptions.ValidationError(
                {name[:100]: ["This endpoint has no such parameter."] for name in unknown}
            )
        twice = sorted(name for name, values in request.query_params.lists() if len(values) > 1)
        if twice:
            raise exceptions.ValidationError(
                {name: ["Give this parameter once."] for name in twice}
            )
        for name, values in request.query_params.lists():
            if any("\x00" in value for value in values):
                raise exceptions.ValidationError({name: ["No NUL characters, please."]})


# Every moment the API gives, written as DRF writes a DateTimeField (ISO 8601, in the
# site's time zone); one field for all: a field made per value cost a page 1,000 of them.
_MOMENT = serializers.DateTimeField()


def when(moment) -> str | None:
    return None if moment is None else _MOMENT.to_representation(moment)


def person_columns(relation: str) -> dict:
    """values() annotations of a person a row points at (`relation`: "taken_by"), for
    person_of: their id and the parts of their name."""
    return {
        f"{relation}__{part}_": F(f"{relation}__{part}")
        for part in ("id", "first_name", "last_name", "username")
    }


def person_of(row: dict, relation: str) -> dict | None:
    """The person of person_columns(relation) in a values() row, as the API names people
    (receptionist.roles.display_name: full name, else username); None for nobody."""
    pk = row[f"{relation}__id_"]
    if pk is None:
        return None
    full = f"{row[f'{relation}__first_name_']} {row[f'{relation}__last_name_']}".strip()
    return {"id": pk, "name": full or row[f"{relation}__username_"]}


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


class Body(serializers.Serializer):
    """What a write sends (its JSON object): a field the endpoint does not know is a 400,
    as is a NUL character in any text (no typo is ignored, nothing is stored cut)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            refused = {
                name: ["This endpoint has no such field."]
                for name in sorted(set(data) - set(self.fields))
            }
            for name, value in data.items():
                values = value if isinstance(value, list) else [value]
                texts = [item for item in values if isinstance(item, str)]
                if any("\x00" in text for text in texts):
                    refused[name] = ["No NUL characters, please."]
                elif not all(_encodable(text) for text in texts):
                    # A lone surrogate ("\ud800"): no text, and DRF's own refusal of a
                    # choice would repeat it in an answer that cannot be written.
                    refused[name] = ["Not valid text (a lone surrogate)."]
            if refused:
                raise exceptions.ValidationError(refused)
        return super().to_internal_value(data)


def doc_excludes() -> list:
    """The classes whose docstrings the schema leaves out (SPECTACULAR_SETTINGS): DRF's,
    and ApiView's (written for whoever reads the code, not for an integrator)."""
    from drf_spectacular.plumbing import get_lib_doc_excludes

    return [*get_lib_doc_excludes(), ApiView]


@login_not_required
def not_found(request, *args, **kwargs):
    """An address under /api/v1/ that is no endpoint (a misspelt path, an id that is no
    number): a JSON 404, as the endpoints answer, not the site's HTML page."""
    return JsonResponse({"detail": "No such address in the API."}, status=404)


def refusal(error: DjangoValidationError) -> dict:
    """A service's ValidationError as DRF's 400 body: {field: [messages]}."""
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [
                message for item in errors for message in item.messages
            ]
            for field, errors in error.error_dict.items()
        }
    return {"non_field_errors": error.messages}


def exception_handler(exc, context):
    """DRF's handler, and Django's own refusals as DRF answers them: a ValidationError
    from a service is a 400 per field, a BadRequest (a forged cursor) a 400 with its reason,
    PermissionDenied a 403."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(refusal(exc))
    elif isinstance(exc, BadRequest):
        exc = exceptions.ParseError(str(exc) or "Bad request.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)


STALE = "Someone else saved this since you read it: here is their version."


def stale(sent: int, current: int) -> str:
    """Why a version sent is not the record's (`current`)."""
    if sent > current:
        return f"This record has no version {sent} yet: here is the current one."
    return STALE


def conflict(current: dict | None, detail: str = STALE) -> Response:
    """409: the record is not as the request expected (someone saved it since the version
    sent was read, took it first, or closed it): why, and the current record, to merge and
    send again (None: one the person may not read)."""
    return Response({"detail": detail, "current": current}, status=status.HTTP_409_CONFLICT)


def page_of(
    request,
    queryset: QuerySet,
    *,
    key: str,
    descending: bool,
    size: int = 50,
    **options,
) -> KeysetPage:
    """One page of `queryset` by (key, id), after the request's `cursor`."""
    return keyset_paginate(
        request._request, queryset, key=key, descending=descending, size=size, **options
    )


def paged(request, page: KeysetPage, results: list) -> Response:
    """The answer of a list: its results and the address of the next page (or null)."""
    next_url = None
    if page.has_next:
        query = request._request.GET.copy()
        query["cursor"] = page.next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return Response({"next": next_url, "results": results})
