"""The REST API of calls and escalations (/api/v1/calls/, /api/v1/escalations/).

Thin: each endpoint reads through the same QuerySet methods as the pages
(`Call.objects.for_user`, `Escalation.objects.visible_to`, the call log's CallFilter) and
writes through the same services (`call_log`, `call_update`, `escalation_raise`,
`escalation_acknowledge`, `escalation_resolve`): no rule is written here twice. A
serializer only checks the shape of what was sent and translates a service's refusal.
"""

from datetime import datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import CharField, F, OuterRef, Q, Subquery
from django.db.models.functions import Cast, JSONObject
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from callers import phones
from callers.models import Business, Caller, NumbersOf, active_businesses, business_dialed
from callers.oncall_shown import on_call_shown
from calls.forms import CallFilter
from calls.models import (
    PLAYBOOK_KEYS,
    Call,
    CautionDecision,
    Direction,
    Escalation,
    EscalationStatus,
    Mood,
    Nature,
    Outcome,
    Severity,
    Urgency,
)
from calls.search import AmongIds
from calls.services import (
    CallAlreadyLogged,
    CallConflict,
    EscalationAlreadyOpen,
    EscalationTaken,
    call_log,
    call_update,
    escalation_acknowledge,
    escalation_raise,
    escalation_resolve,
)
from calls.views.callers import LOOKUP_LIMIT, MOST_RUNS, _candidates_of
from receptionist.api import (
    ApiView,
    Body,
    conflict,
    page_of,
    paged,
    person_columns,
    person_of,
    stale,
    when,
)
from receptionist.roles import display_name
from receptionist.statements import Statement

PAGE_SIZE = 50


def person(user) -> dict | None:
    return None if user is None else {"id": user.pk, "name": display_name(user)}


# --- calls ----------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CallerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CallSerializer(serializers.Serializer):
    """A call as the API gives it."""

    id = serializers.IntegerField()
    business = serializers.IntegerField(source="business_id")
    caller = CallerRefSerializer()
    phone = serializers.CharField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    direction = serializers.ChoiceField(choices=Direction.choices)
    nature = serializers.ChoiceField(choices=Nature.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    mood = serializers.ChoiceField(choices=Mood.choices)
    summary = serializers.CharField()
    wants = serializers.CharField()
    promised = serializers.CharField()
    message = serializers.CharField()
    notes = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    taken_by = PersonSerializer()
    version = serializers.IntegerField()

    def to_representation(self, call):
        """`call`: a row of `call_rows`."""
        return {
            "id": call["pk"],
            "business": call["business_id"],
            "caller": {"id": call["caller_id"], "name": call["caller_name"]},
            "phone": call["number"] or "",
            "started_at": when(call["started_at"]),
            "ended_at": when(call["ended_at"]),
            "direction": call["direction"],
            "nature": call["nature"],
            "urgency": call["urgency"],
            "mood": call["mood"],
            "summary": call["summary"],
            "wants": call["wants"],
            "promised": call["promised"],
            "message": call["message"],
            "notes": call["notes"],
            "outcome": call["outcome"],
            "taken_by": person_of(call, "taken_by"),
            "version": call["version"],
        }


CALL_COLUMNS = (
    "pk",
    "business_id",
    "caller_id",
    "started_at",
    "ended_at",
    "direction",
    "nature",
    "urgency",
    "mood",
    "summary",
    "wants",
    "promised",
    "message",
    "notes",
    "outcome",
    "version",
)


def call_rows(calls):
    """`calls` as the API reads them: values() rows (a page of instances, each with its
    caller and person, and each number parsed and formatted, was most of the list's time),
    with the caller's name, who took the call, and the number as stored (E.164)."""
    return calls.values(
        *CALL_COLUMNS,
        caller_name=F("caller__name"),
        number=Cast("phone", CharField()),
        **person_columns("taken_by"),
    )


def text(max_length: int, **options):
    return serializers.CharField(
        max_length=max_length, allow_blank=True, trim_whitespace=False, **options
    )


class CallFieldsSerializer(Body):
    """What a call says, as the call form asks it."""

    phone = serializers.CharField(max_length=40, allow_blank=True, required=False)
    started_at = serializers.DateTimeField(required=False)
    ended_at = serializers.DateTimeField(required=False, allow_null=True)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    nature = serializers.ChoiceField(choices=Nature.choices, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    mood = serializers.ChoiceField(choices=Mood.choices, required=False)
    summary = serializers.CharField(max_length=200, required=False)
    wants = text(2000, required=False)
    promised = text(2000, required=False)
    message = text(5000, required=False)
    notes = text(10000, required=False)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)


class CallCreateSerializer(CallFieldsSerializer):
    """A new call: what the call form sends (calls.services.call_log says the rules)."""

    summary = serializers.CharField(max_length=200)
    business = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    caller = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    caller_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    number_withheld = serializers.BooleanField(required=False, default=False)
    escalate = serializers.BooleanField(required=False, default=False)
    escalation_reason = text(2000, required=False, default="")
    playbook_steps = serializers.ListField(
        child=serializers.ChoiceField(choices=PLAYBOOK_KEYS), required=False, default=list
    )
    callback = serializers.BooleanField(required=False, default=False)
    callback_due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    callback_promise = text(500, required=False, default="")
    callback_window = text(100, required=False, default="")
    submission_key = serializers.UUIDField(required=False, allow_null=True, default=None)


class CallUpdateSerializer(CallFieldsSerializer):
    """An edit: the version read, and the fields to change (the others stay)."""

    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


def _visible_calls(user):
    return call_rows(Call.objects.for_user(user))


def _call_data(user, pk) -> dict:
    """The call as the API gives it, or 404 when the person may not see it."""
    return CallSerializer().to_representation(get_object_or_404(_visible_calls(user), pk=pk))


CALL_LIST_PARAMS = [
    OpenApiParameter("cursor", str, description="The `next` address's cursor."),
    OpenApiParameter("q", str, description="Words a call says (or a caller's name or number)."),
    OpenApiParameter("sort", str, enum=["best"], description="best: best match first."),
    OpenApiParameter("nature", str, enum=Nature.values),
    OpenApiParameter("urgency", str, enum=Urgency.values),
    OpenApiParameter("mood", str, enum=Mood.values),
    OpenApiParameter("outcome", str, enum=Outcome.values),
    OpenApiParameter("direction", str, enum=Direction.values),
    OpenApiParameter("taken_by", int, description="The id of who took the call."),
    OpenApiParameter("who", str, description="A caller's name, organisation or number."),
    OpenApiParameter("caller", int, description="One caller's id."),
    OpenApiParameter("withheld", bool, description="Only calls without a number."),
    OpenApiParameter("date_from", OpenApiTypes.DATE),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
]


BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class CallList(ApiView):
    """The call log: the same filters as /calls/, newest first (or best match first)."""

    required_for = {"GET": ("calls.view_call",), "POST": ("calls.add_call",)}
    known_params = frozenset(p.name for p in CALL_LIST_PARAMS)

    @extend_schema(parameters=CALL_LIST_PARAMS, responses=CallSerializer(many=True))
    def get(self, request):
        visible = Call.objects.for_user(request.user)
        params = request.query_params.copy()
        if "withheld" in params:
            # The page's box reads any value but "false" as ticked; the API says it.
            ticked = BOOLEANS.get(params["withheld"].lower())
            if ticked is None:
                raise ValidationError({"withheld": ["true or false."]})
            params["withheld"] = "true" if ticked else "false"
        calls = CallFilter(params, queryset=visible, request=request._request)
        if not calls.is_valid():
            return Response(calls.form.errors, status=status.HTTP_400_BAD_REQUEST)
        found, key, ids_first = calls.page_order(calls.qs)
        page = page_of(
            request,
            # A search's page is found as ids on the bare table, then read as rows.
            found if ids_first else call_rows(found),
            key=key,
            descending=True,
            size=PAGE_SIZE,
            ids_first=ids_first,
            rows=call_rows(visible) if ids_first else None,
        )
        shown = CallSerializer()
        return paged(request, page, [shown.to_representation(call) for call in page.items])

    @extend_schema(
        request=CallCreateSerializer,
        responses={201: CallSerializer, 200: CallSerializer},
    )
    def post(self, request):
        sent = CallCreateSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        data = dict(sent.validated_data)
        business = None
        if "business" in data:
            business = Business.objects.filter(pk=data.pop("business")).first()
            if business is None:
                return Response(
                    {"business": ["No such business."]}, status=status.HTTP_400_BAD_REQUEST
                )
        caller = None
        if "caller" in data:
            caller = Caller.objects.for_user(request.user).filter(pk=data.pop("caller")).first()
            if caller is None:
                return Response({"caller": ["No such caller."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            call = call_log(
                user=request.user,
                business=business,
                caller=caller,
                phone=data.pop("phone", "") or None,
                caller_name=data.pop("caller_name", ""),
                attach_to=None,
                **data,
            )
        except CallAlreadyLogged as logged:
            # The same submission_key again: the call it logged the first time.
            return Response(_call_data(request.user, logged.call.pk))
        return Response(_call_data(request.user, call.pk), status=status.HTTP_201_CREATED)


class CallDetail(ApiView):
    required_for = {
        "GET": ("calls.view_call",),
        "PATCH": ("calls.change_call",),
    }

    @extend_schema(responses=CallSerializer)
    def get(self, request, pk):
        return Response(_call_data(request.user, pk))

    @extend_schema(
        request=CallUpdateSerializer,
        responses={200: CallSerializer, 409: OpenApiTypes.OBJECT},
        description="Send the `version` you read: if someone saved the call since, the "
        "answer is 409 with their version, and nothing is changed.",
    )
    def patch(self, request, pk):
        get_object_or_404(Call.objects.for_user(request.user).only("pk"), pk=pk)
        sent = CallUpdateSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        changes = dict(sent.validated_data)
        version = changes.pop("version")
        try:
            call_update(call_id=pk, expected_version=version, user=request.user, changes=changes)
        except CallConflict as changed:
            return conflict(_call_data(request.user, pk), stale(version, changed.current.version))
        return Response(_call_data(request.user, pk))


# --- escalations ----------------------------------------------------------------------------


class EscalationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    call = serializers.IntegerField()
    business = serializers.IntegerField()
    caller = CallerRefSerializer()
    status = serializers.ChoiceField(choices=EscalationStatus.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    reason = serializers.CharField()
    playbook_steps = serializers.ListField(child=serializers.CharField())
    raised_by = PersonSerializer()
    raised_at = serializers.DateTimeField()
    ack_deadline = serializers.DateTimeField()
    acknowledged_by = PersonSerializer(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_by = PersonSerializer(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField()
    debrief = serializers.CharField()

    def to_representation(self, e):
        when = serializers.DateTimeField().to_representation
        return {
            "id": e.pk,
            "call": e.call_id,
            "business": e.business_id,
            "caller": {"id": e.call.caller_id, "name": e.call.caller.name},
            "status": e.status,
            "severity": e.severity,
            "reason": e.reason,
            "playbook_steps": list(e.playbook_steps),
            "raised_by": person(e.raised_by),
            "raised_at": when(e.raised_at),
            "ack_deadline": when(e.ack_deadline),
            "acknowledged_by": person(e.acknowledged_by),
            "acknowledged_at": e.acknowledged_at and when(e.acknowledged_at),
            "resolved_by": person(e.resolved_by),
            "resolved_at": e.resolved_at and when(e.resolved_at),
            "resolution": e.resolution,
            "debrief": e.debrief,
        }


def _visible_escalations(user):
    return Escalation.objects.visible_to(user).select_related(
        "call__caller", "raised_by", "acknowledged_by", "resolved_by"
    )


ESCALATION_LIST_PARAMS = [
    OpenApiParameter("cursor", str),
    OpenApiParameter(
        "status",
        str,
        enum=["waiting", *EscalationStatus.values],
        description="waiting: open or acknowledged. Default: every one.",
    ),
    OpenApiParameter("call", int),
]


class EscalationList(ApiView):
    """Escalations the person may read (every one for managers; for the front desk, those
    they raised or whose call they took), newest first."""

    required_for = {"GET": ("calls.view_escalation",)}
    known_params = frozenset(p.name for p in ESCALATION_LIST_PARAMS)

    @extend_schema(parameters=ESCALATION_LIST_PARAMS, responses=EscalationSerializer(many=True))
    def get(self, request):
        params = FilterParams(
            data=request.query_params,
            fields={
                "status": serializers.ChoiceField(
                    choices=["waiting", *EscalationStatus.values], required=False
                ),
                "call": serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False),
            },
        )
        wanted = params.valid()
        found = _visible_escalations(request.user)
        if wanted.get("status") == "waiting":
            found = found.unresolved()
        elif wanted.get("status"):
            found = found.filter(status=wanted["status"])
        if wanted.get("call"):
            found = found.filter(call_id=wanted["call"])
        page = page_of(request, found, key="raised_at", descending=True, size=PAGE_SIZE)
        return paged(request, page, [EscalationSerializer(e).data for e in page.items])


class FilterParams:
    """Query parameters read by serializer fields: a value that cannot be read is a 400
    with a message on the parameter."""

    def __init__(self, *, data, fields: dict):
        self.serializer = type("Params", (serializers.Serializer,), dict(fields))(
            data={name: data.get(name) for name in fields if name in data}
        )

    def valid(self) -> dict:
        self.serializer.is_valid(raise_exception=True)
        return self.serializer.validated_data


class RaiseSerializer(Body):
    call = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = text(2000, required=False, default="")
    playbook_steps = serializers.ListField(
        child=serializers.ChoiceField(choices=PLAYBOOK_KEYS), required=False, default=list
    )


class EscalationRaise(ApiView):
    required = ("calls.add_escalation",)

    @extend_schema(
        request=RaiseSerializer, responses={201: EscalationSerializer, 409: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        sent = RaiseSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        data = sent.validated_data
        call = Call.objects.for_user(request.user).filter(pk=data["call"]).first()
        if call is None:
            return Response({"call": ["No such call."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            escalation = escalation_raise(
                call=call,
                user=request.user,
                reason=data["reason"],
                playbook_steps=data["playbook_steps"],
            )
        except EscalationAlreadyOpen as already:
            shown = _escalation_data(request.user, already.escalation.pk)
            if shown is None:
                # Not theirs to read (raised by someone else, of a call they did not take).
                return conflict(None, "This call already has a waiting escalation.")
            return conflict(
                shown,
                f"This call already has a waiting escalation (#{already.escalation.pk}), "
                f"raised by {display_name(already.by)}: here it is.",
            )
        return Response(
            _escalation_data(request.user, escalation.pk), status=status.HTTP_201_CREATED
        )


def _escalation_data(user, pk) -> dict | None:
    """The escalation as the API gives it, or None when the person may not read it."""
    shown = _visible_escalations(user).filter(pk=pk).first()
    return None if shown is None else EscalationSerializer(shown).data


class EscalationAcknowledge(ApiView):
    required = ("calls.manage_escalation",)

    @extend_schema(request=None, responses={200: EscalationSerializer, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        escalation = get_object_or_404(_visible_escalations(request.user), pk=pk)
        try:
            escalation_acknowledge(escalation_id=escalation.pk, user=request.user)
        except EscalationTaken as taken:
            return conflict(_escalation_data(request.user, pk), _taken(taken))
        return Response(_escalation_data(request.user, pk))


def _taken(taken: EscalationTaken) -> str:
    done = "resolved" if taken.escalation.status == EscalationStatus.RESOLVED else "acknowledged"
    return f"Already {done} by {display_name(taken.by)}: here it is as it is now."


class ResolveSerializer(Body):
    resolution = serializers.CharField(max_length=5000, allow_blank=True)
    debrief = text(5000, required=False, default="")
    caution_decision = serializers.ChoiceField(
        choices=CautionDecision.choices, required=False, default=CautionDecision.KEEP
    )
    caution_note = text(2000, required=False, default="")


class EscalationResolve(ApiView):
    required = ("calls.manage_escalation",)

    @extend_schema(
        request=ResolveSerializer, responses={200: EscalationSerializer, 409: OpenApiTypes.OBJECT}
    )
    def post(self, request, pk):
        escalation = get_object_or_404(_visible_escalations(request.user), pk=pk)
        sent = ResolveSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        try:
            escalation_resolve(
                escalation_id=escalation.pk, user=request.user, **sent.validated_data
            )
        except EscalationTaken as taken:
            return conflict(_escalation_data(request.user, pk), _taken(taken))
        return Response(_escalation_data(request.user, pk))


# --- screen pop -----------------------------------------------------------------------------

LOOKUP_CALLS = 3


class PopContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    phone = serializers.CharField(help_text="E.164, or empty.")
    email = serializers.CharField()


class PopBusinessSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    greeting = serializers.CharField(help_text="With the receptionist's name filled in.")
    open_now = serializers.BooleanField(
        allow_null=True, help_text="null: the business has no opening hours set."
    )
    instructions = serializers.CharField()
    after_hours_instructions = serializers.CharField()
    on_call = PopContactSerializer(
        many=True, help_text="Who is on call now, first to tell first (empty: nobody)."
    )


class PopCallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    nature = serializers.ChoiceField(choices=Nature.choices)
    mood = serializers.ChoiceField(choices=Mood.choices)
    summary = serializers.CharField()


class PopCallbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    status = serializers.CharField()


class PopEscalationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    call = serializers.IntegerField()
    status = serializers.ChoiceField(choices=EscalationStatus.choices)
    raised_at = serializers.DateTimeField()


class PopCallerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    business = serializers.IntegerField()
    name = serializers.CharField()
    organisation = serializers.CharField()
    numbers = serializers.ListField(child=serializers.CharField(), help_text="E.164.")
    is_vip = serializers.BooleanField()
    caution = serializers.BooleanField()
    handling_note = serializers.CharField(help_text="How to handle them (when caution).")
    things_to_remember = serializers.CharField()
    calls_today = serializers.IntegerField()
    calls_week = serializers.IntegerField(help_text="In the last 7 days.")
    open_callbacks = PopCallbackSerializer(many=True)
    open_escalations = PopEscalationSerializer(
        many=True, help_text="Waiting; for the front desk, those they raised or took."
    )
    last_calls = PopCallSerializer(many=True, help_text="The last three, newest first.")


class LookupSerializer(serializers.Serializer):
    """What a phone system shows as the call rings (its shape, for the schema)."""

    business = PopBusinessSerializer(
        allow_null=True,
        help_text="The business the number dialed rings for; without `dialed`, the only "
        "one the person answers for, else null.",
    )
    dialed_known = serializers.BooleanField(
        allow_null=True,
        help_text="false: no business the person answers for is on the number dialed (the "
        "callers are then those of every business they answer for); null: none was sent.",
    )
    callers = PopCallerSerializer(many=True, help_text="Best first, at most five.")
    more_callers = serializers.BooleanField(help_text="More than five callers have it.")
    too_common = serializers.BooleanField(
        help_text="A name too common to look through (a number never is)."
    )


def _business_shown(business, user) -> dict | None:
    if business is None:
        return None
    return {
        "id": business.pk,
        "name": business.name,
        "greeting": business.greeting_for(user),
        "open_now": business.is_open(),
        "instructions": business.instructions,
        "after_hours_instructions": business.after_hours_instructions,
        "on_call": [
            {
                "id": contact.pk,
                "name": contact.name,
                "role": contact.role,
                "phone": contact.phone.as_e164 if contact.phone else "",
                "email": contact.email,
            }
            for contact in on_call_shown([business])[business.pk].contacts
        ],
    }


class Lookup(ApiView):
    """The screen pop: who is calling and what is open about them, as the phone rings.

    `phone`: the caller's number (any common format); `dialed`: the number they rang (an
    answering service's: which business answers). The business dialed with its greeting
    and whether it is open now; the callers the number finds (as the call form's lookup
    panel finds them), each with VIP, caution and its handling note, their open callbacks
    and the waiting escalations the person may read (a manager every one, the front desk
    those they raised or whose call they took), their last calls and their calls today and
    in the last 7 days."""

    required = ("callers.view_caller",)
    known_params = frozenset({"phone", "dialed"})

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "phone",
                str,
                description="The caller's number, in any common format; left out, empty or "
                'with no digit ("anonymous"): withheld, and only the business is looked up.',
            ),
            OpenApiParameter("dialed", str, description="The number the caller rang."),
        ],
        responses=LookupSerializer,
    )
    def get(self, request):
        params = FilterParams(
            data=request.query_params,
            fields={
                "phone": serializers.CharField(max_length=40, required=False, allow_blank=True),
                "dialed": serializers.CharField(max_length=40, required=False, allow_blank=True),
            },
        ).valid()
        phone = params.get("phone", "").strip()
        digits = sum(ch.isdigit() for ch in phone)
        if 0 < digits < 3:
            raise ValidationError({"phone": ["A number, with at least 3 digits."]})
        user = request.user
        mine = Business.objects.ids_for(user)
        answering = [b for b in active_businesses() if mine is None or b.pk in mine]
        business, dialed_known = None, None
        if params.get("dialed"):
            if phones.to_e164(params["dialed"]) is None:
                raise ValidationError({"dialed": [phones.NOT_A_NUMBER]})
            business = business_dialed(params["dialed"], answering)
            dialed_known = business is not None
        elif len(answering) == 1:
            business = answering[0]
        found, too_common = [], False
        number = Caller.objects.number_typed(phone) if digits else None
        if not digits:
            pass  # the number withheld ("", "anonymous"): the business alone
        elif connection.vendor == "postgresql" and number and len(number[1]) <= MOST_RUNS:
            found = _screen_pop(user, number, business, mine)
        else:
            found, too_common = _screen_pop_read_apart(user, phone, business)
        return Response(
            {
                "business": _business_shown(business, user),
                "dialed_known": dialed_known,
                "callers": [_caller_shown(row) for row in found[:LOOKUP_LIMIT]],
                "more_callers": len(found) > LOOKUP_LIMIT,
                "too_common": too_common,
            }
        )


# What the screen pop gives of each caller (besides their numbers, counts and lists).
POP_FIELDS = (
    "pk",
    "business_id",
    "name",
    "organisation",
    "is_vip",
    "caution",
    "caution_note",
    "things_to_remember",
)
POP_CALL = {"id": "pk", "started_at": "started_at", "nature": "nature", "mood": "mood"}
POP_CALLBACK = {"id": "pk", "due_at": "due_at", "status": "status"}
POP_ESCALATION = {"id": "pk", "call": "call_id", "status": "status", "raised_at": "raised_at"}


def _caller_shown(row: dict) -> dict:
    """A caller of the screen pop as the API gives it (`row`: as _screen_pop reads it)."""
    return {
        "id": row["pk"],
        "business": row["business_id"],
        "name": row["name"],
        "organisation": row["organisation"],
        "numbers": list(row["numbers"] or []),
        "is_vip": row["is_vip"],
        "caution": row["caution"],
        "handling_note": row["caution_note"] if row["caution"] else "",
        "things_to_remember": row["things_to_remember"],
        "calls_today": row["calls_today"],
        "calls_week": row["calls_week"],
        "open_callbacks": [_dated(c, "due_at") for c in row["open_callbacks"]],
        "open_escalations": [_dated(e, "raised_at") for e in row["open_escalations"]],
        "last_calls": [_dated(call, "started_at") for call in row["last_calls"]],
    }


def _dated(item: dict, name: str) -> dict:
    """`item` with its moment `name` written as every moment of the API is (JSON read from
    PostgreSQL holds it as ISO text)."""
    moment = item[name]
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return {**item, name: serializers.DateTimeField().to_representation(moment)}


def _pop_query(callers, today, week, person=None):
    """The screen pop's callers (at most LOOKUP_LIMIT + 1, best first) as values(), each
    with their numbers, their calls today and this week, and as lists of JSON objects their
    last calls, open callbacks and waiting escalations (those involving `person`, when
    given): one query (PostgreSQL). Read as five, the lists' queries and their round trips
    took most of the screen pop's time."""
    # Through the relation followups adds to Caller: calls does not import it.
    callbacks = Caller._meta.get_field("callbacks").related_model.objects.active()
    escalations = Escalation.objects.unresolved()
    if person is not None:
        escalations = escalations.involving(person)

    def listed(queryset, fields: dict, *order, most=None):
        rows = queryset.order_by(*order).values(item=JSONObject(**fields))
        return ArraySubquery(rows[:most] if most else rows)

    return (
        callers.lookup_order()
        .annotate(
            numbers=NumbersOf("pk"),
            **Call.objects.counts_of_caller(since=(today, week)),
            last_calls=listed(
                Call.objects.filter(caller_id=OuterRef("pk")),
                {**POP_CALL, "summary": "summary"},
                "-started_at",
                "-pk",
                most=LOOKUP_CALLS,
            ),
            open_callbacks=listed(
                callbacks.filter(caller_id=OuterRef("pk")), POP_CALLBACK, "due_at", "pk"
            ),
            open_escalations=listed(
                # From the few waiting, each call's caller read by its key: joined to the
                # calls by caller, PostgreSQL read every call of a busy caller (11 ms).
                escalations.annotate(
                    of_caller=Subquery(
                        Call.objects.filter(pk=OuterRef("call_id"))
                        .order_by()
                        .values("caller_id")[:1]
                    )
                ).filter(of_caller=OuterRef("pk")),
                POP_ESCALATION,
                "-raised_at",
                "-pk",
            ),
        )
        .values(
            *POP_FIELDS,
            "numbers",
            "calls_today",
            "calls_week",
            "last_calls",
            "open_callbacks",
            "open_escalations",
        )[: LOOKUP_LIMIT + 1]
    )


# The screen pop of a number (its E.164 start and up to MOST_RUNS runs of digits), compiled
# once (receptionist/statements.py); `businesses`: only theirs (the business dialed, or a
# person's own), `person`: the escalations involving them only (the front desk's).
SCREEN_POP = Statement(
    lambda prefix, today, week, businesses=None, person=None, **runs: _pop_query(
        Caller.objects.with_number(prefix, [runs[name] for name in sorted(runs)]).filter(
            AmongIds(F("business_id"), businesses) if businesses is not None else Q()
        ),
        today,
        week,
        person,
    ),
    prefix=str,
    today=datetime,
    week=datetime,
    businesses=list,
    person=int,
    **{f"run_{place}": str for place in range(MOST_RUNS)},
)


def _screen_pop(user, number: tuple[str, list[str]], business, mine) -> list[dict]:
    """The screen pop's callers of a number typed (Caller.objects.number_typed), in one
    query compiled once: within `business` when one was dialed, else within the person's
    businesses (`mine`, None for every one)."""
    prefix, runs = number
    today, week = Call.objects.count_boundaries()
    values = {f"run_{place}": run for place, run in enumerate(runs)}
    if business is not None:
        values["businesses"] = [business.pk]
    elif mine is not None:
        values["businesses"] = sorted(mine)
    if not Escalation.objects.sees_every_one(user):
        values["person"] = user.pk
    return SCREEN_POP.dicts(prefix=prefix, today=today, week=week, **values)


def _named(row, names: dict) -> dict:
    """`row`'s values (a dict, or an instance's attributes) under the names the API gives
    them (`names`: the API's name -> the row's)."""
    get = row.get if isinstance(row, dict) else row.__getattribute__
    return {name: get(field) for name, field in names.items()}


def _screen_pop_read_apart(user, text: str, business) -> tuple[list[dict], bool]:
    """The screen pop's callers as the lookup panel finds them (a name, or a number on
    SQLite), each list read in a query of its own; and whether the name is too common."""
    found, too_common = _candidates_of(user, text, business.pk if business else None)
    found = found[: LOOKUP_LIMIT + 1]
    ids = [caller.pk for caller in found]
    lists = {pk: {"last_calls": [], "open_callbacks": [], "open_escalations": []} for pk in ids}
    if ids:
        call_fields = {**POP_CALL, "summary": "summary"}
        calls = Call.objects.only("caller_id", *call_fields.values())
        for caller, shown in Call.objects.by_caller(
            ids, calls.latest_query(ids, LOOKUP_CALLS)
        ).items():
            lists[caller]["last_calls"] = [_named(call, call_fields) for call in shown]
        callbacks = Caller._meta.get_field("callbacks").related_model.objects.active()
        for row in (
            callbacks.filter(caller_id__in=ids)
            .order_by("due_at", "pk")
            .values("caller_id", *POP_CALLBACK.values())
        ):
            lists[row["caller_id"]]["open_callbacks"].append(_named(row, POP_CALLBACK))
        for row in (
            Escalation.objects.visible_to(user)
            .unresolved()
            .filter(call__caller_id__in=ids)
            .order_by("-raised_at", "-pk")
            .values("call__caller_id", *POP_ESCALATION.values())
        ):
            lists[row["call__caller_id"]]["open_escalations"].append(_named(row, POP_ESCALATION))
    rows = [
        {
            **_named(caller, {name: name for name in POP_FIELDS}),
            "numbers": caller.numbers,
            "calls_today": caller.calls_today,
            "calls_week": caller.calls_week,
            **lists[caller.pk],
        }
        for caller in found
    ]
    return rows, too_common


urlpatterns = [
    path("lookup/", Lookup.as_view(), name="api-lookup"),
    path("calls/", CallList.as_view(), name="api-calls"),
    path("calls/<int:pk>/", CallDetail.as_view(), name="api-call"),
    path("escalations/", EscalationList.as_view(), name="api-escalations"),
    path("escalations/raise/", EscalationRaise.as_view(), name="api-escalation-raise"),
    path(
        "escalations/<int:pk>/acknowledge/",
        EscalationAcknowledge.as_view(),
        name="api-escalation-acknowledge",
    ),
    path(
        "escalations/<int:pk>/resolve/", EscalationResolve.as_view(), name="api-escalation-resolve"
    ),
]
