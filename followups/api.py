"""The REST API of callbacks and of a client's messages (/api/v1/callbacks/,
/api/v1/messages/).

The queue's views are the page's (followups.views.VIEWS); every write goes through
followups.services (`callback_claim`, `callback_release`, `callback_attempt`,
`callback_cancel`) or calls.services (`message_mark_read`), which hold the rules.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from callers.models import Business
from calls.api import CallerRefSerializer, PersonSerializer
from calls.models import Call, Outcome
from calls.services import message_mark_read
from followups.models import AttemptResult, Callback, CallbackStatus, Priority
from followups.portal import NOT_A_CLIENT
from followups.services import (
    CallbackConflict,
    CallbackTaken,
    callback_attempt,
    callback_cancel,
    callback_claim,
    callback_release,
)
from followups.views import VIEWS
from receptionist.api import (
    ApiView,
    Body,
    conflict,
    page_of,
    paged,
    person_columns,
    person_of,
    when,
)
from receptionist.roles import display_name

PAGE_SIZE = 50


class CallbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    business = serializers.IntegerField()
    call = serializers.IntegerField()
    caller = CallerRefSerializer()
    reason = serializers.CharField()
    promise = serializers.CharField()
    preferred_window = serializers.CharField()
    due_at = serializers.DateTimeField()
    priority = serializers.ChoiceField(choices=Priority.choices)
    status = serializers.ChoiceField(choices=CallbackStatus.choices)
    assigned_to = PersonSerializer(allow_null=True)
    claimed_by = PersonSerializer(allow_null=True)
    attempt_count = serializers.IntegerField()
    outcome = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()

    def to_representation(self, c):
        """`c`: a row of `callback_rows`."""
        return {
            "id": c["pk"],
            "business": c["business_id"],
            "call": c["call_id"],
            "caller": {"id": c["caller_id"], "name": c["caller_name"]},
            "reason": c["reason"],
            "promise": c["promise"],
            "preferred_window": c["preferred_window"],
            "due_at": when(c["due_at"]),
            "priority": c["priority"],
            "status": c["status"],
            "assigned_to": person_of(c, "assigned_to"),
            "claimed_by": person_of(c, "claimed_by"),
            "attempt_count": c["attempt_count"],
            "outcome": c["outcome"],
            "closed_at": when(c["closed_at"]),
            "version": c["version"],
        }


CALLBACK_COLUMNS = (
    "pk",
    "business_id",
    "call_id",
    "caller_id",
    "reason",
    "promise",
    "preferred_window",
    "due_at",
    "priority",
    "status",
    "attempt_count",
    "outcome",
    "closed_at",
    "version",
)


def callback_rows(callbacks):
    """`callbacks` as the API reads them: values() rows with the caller's name and the
    people they are assigned to and claimed by (no model instances: see calls.api)."""
    return callbacks.values(
        *CALLBACK_COLUMNS,
        caller_name=F("caller__name"),
        **person_columns("assigned_to"),
        **person_columns("claimed_by"),
    )


def _visible(user):
    return Callback.objects.for_user(user)


class CallbackList(ApiView):
    """A view of the callback queue, as its tabs: team (every open one, the default),
    mine, unassigned, overdue, at_risk; soonest due first."""

    required = ("followups.view_callback",)
    known_params = frozenset({"cursor", "view"})

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str),
            OpenApiParameter("view", str, enum=list(VIEWS), default="team"),
        ],
        responses=CallbackSerializer(many=True),
    )
    def get(self, request):
        view = request.query_params.get("view", "team")
        if view not in VIEWS:
            raise ValidationError({"view": [f"One of: {', '.join(VIEWS)}."]})
        _, shown, values_of = VIEWS[view]
        found = shown(_visible(request.user), **values_of(request.user, timezone.now()))
        page = page_of(
            request, callback_rows(found), key="due_at", descending=False, size=PAGE_SIZE
        )
        serializer = CallbackSerializer()
        return paged(request, page, [serializer.to_representation(c) for c in page.items])


class CallbackDetail(ApiView):
    required = ("followups.view_callback",)

    @extend_schema(responses=CallbackSerializer)
    def get(self, request, pk):
        return Response(_shown(request.user, pk))


def _shown(user, pk) -> dict:
    """The callback as the API gives it, or 404 when the person may not see it."""
    row = get_object_or_404(callback_rows(_visible(user)), pk=pk)
    return CallbackSerializer().to_representation(row)


class CallbackClaim(ApiView):
    """ "I'm calling them": of many at once, exactly one wins; the others get 409."""

    required = ("followups.change_callback",)

    @extend_schema(request=None, responses={200: CallbackSerializer, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        callback = get_object_or_404(_visible(request.user), pk=pk)
        try:
            callback_claim(callback_id=callback.pk, user=request.user)
        except CallbackTaken as taken:
            return conflict(_shown(request.user, pk), _taken(taken, request.user))
        return Response(_shown(request.user, pk))


class CallbackRelease(ApiView):
    required = ("followups.change_callback",)

    @extend_schema(request=None, responses={200: CallbackSerializer, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        callback = get_object_or_404(_visible(request.user), pk=pk)
        try:
            callback_release(callback_id=callback.pk, user=request.user)
        except CallbackTaken as taken:
            return conflict(_shown(request.user, pk), _taken(taken, request.user))
        return Response(_shown(request.user, pk))


class AttemptSerializer(Body):
    """A try: its result; an `outcome` closes the callback (always needed when the caller
    was reached); otherwise `next_due_at` says when to try again."""

    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    result = serializers.ChoiceField(choices=AttemptResult.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    outcome = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    next_due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class CallbackAttempt(ApiView):
    required = ("followups.change_callback",)

    @extend_schema(
        request=AttemptSerializer,
        responses={201: CallbackSerializer, 409: OpenApiTypes.OBJECT},
    )
    def post(self, request, pk):
        callback = get_object_or_404(_visible(request.user), pk=pk)
        sent = AttemptSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        data = dict(sent.validated_data)
        try:
            callback_attempt(
                callback_id=callback.pk,
                user=request.user,
                expected_version=data.pop("version"),
                **data,
            )
        except CallbackConflict:
            return conflict(_shown(request.user, pk))
        except CallbackTaken as taken:
            return conflict(_shown(request.user, pk), _taken(taken, request.user))
        return Response(_shown(request.user, pk), status=status.HTTP_201_CREATED)


class CancelSerializer(Body):
    reason = serializers.CharField(max_length=2000)


class CallbackCancel(ApiView):
    """Withdraw a promise (managers), with the reason why."""

    required = ("followups.manage_callback",)

    @extend_schema(
        request=CancelSerializer, responses={200: CallbackSerializer, 409: OpenApiTypes.OBJECT}
    )
    def post(self, request, pk):
        callback = get_object_or_404(_visible(request.user), pk=pk)
        sent = CancelSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        try:
            callback_cancel(
                callback_id=callback.pk, user=request.user, reason=sent.validated_data["reason"]
            )
        except CallbackTaken as taken:
            return conflict(_shown(request.user, pk), _taken(taken, request.user))
        return Response(_shown(request.user, pk))


def _taken(taken: CallbackTaken, user) -> str:
    """Why the callback could not be claimed, given back or tried as asked."""
    callback = taken.callback
    if not callback.is_active:
        return f"It is {callback.get_status_display().lower()} already: here it is as it is now."
    if callback.claimed_by_id and callback.claimed_by_id != user.pk:
        return f"{display_name(callback.claimed_by)} claimed it first: here it is as it is now."
    return "It is not claimed by you: here it is as it is now."


# --- a client's messages --------------------------------------------------------------------


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    caller = CallerRefSerializer()
    phone = serializers.CharField()
    summary = serializers.CharField()
    wants = serializers.CharField()
    message = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    read_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, call):
        return {
            "id": call.pk,
            "started_at": when(call.started_at),
            "caller": {"id": call.caller_id, "name": call.caller.name},
            "phone": call.phone.as_e164 if call.phone else "",
            "summary": call.summary,
            "wants": call.wants,
            "message": call.message,
            "outcome": call.outcome,
            "read_at": call.message_read_at and when(call.message_read_at),
        }


def _client_calls(user):
    if Business.objects.of_client(user) is None:
        raise PermissionDenied(NOT_A_CLIENT)
    return Call.objects.for_user(user).select_related("caller")


MESSAGE_VIEWS = ("all", "messages", "unread")


class MessageList(ApiView):
    """A client's calls (their own business only), newest first: every call, the
    messages taken, or the messages still unread."""

    required = ("calls.read_messages",)
    known_params = frozenset({"cursor", "view"})

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str),
            OpenApiParameter("view", str, enum=list(MESSAGE_VIEWS), default="all"),
        ],
        responses=MessageSerializer(many=True),
    )
    def get(self, request):
        view = request.query_params.get("view", "all")
        if view not in MESSAGE_VIEWS:
            raise ValidationError({"view": [f"One of: {', '.join(MESSAGE_VIEWS)}."]})
        calls = _client_calls(request.user)
        if view == "messages":
            calls = calls.filter(outcome=Outcome.MESSAGE_TAKEN)
        elif view == "unread":
            calls = calls.filter(outcome=Outcome.MESSAGE_TAKEN, message_read_at__isnull=True)
        page = page_of(request, calls, key="started_at", descending=True, size=PAGE_SIZE)
        return paged(request, page, [MessageSerializer(c).data for c in page.items])


class MessageRead(ApiView):
    """Mark a message read."""

    required = ("calls.read_messages",)

    @extend_schema(request=None, responses=MessageSerializer)
    def post(self, request, pk):
        call = get_object_or_404(_client_calls(request.user), pk=pk)
        message_mark_read(call_id=call.pk, user=request.user)
        return Response(MessageSerializer(_client_calls(request.user).get(pk=pk)).data)


urlpatterns = [
    path("callbacks/", CallbackList.as_view(), name="api-callbacks"),
    path("callbacks/<int:pk>/", CallbackDetail.as_view(), name="api-callback"),
    path("callbacks/<int:pk>/claim/", CallbackClaim.as_view(), name="api-callback-claim"),
    path("callbacks/<int:pk>/release/", CallbackRelease.as_view(), name="api-callback-release"),
    path("callbacks/<int:pk>/attempts/", CallbackAttempt.as_view(), name="api-callback-attempt"),
    path("callbacks/<int:pk>/cancel/", CallbackCancel.as_view(), name="api-callback-cancel"),
    path("messages/", MessageList.as_view(), name="api-messages"),
    path("messages/<int:pk>/read/", MessageRead.as_view(), name="api-message-read"),
]
