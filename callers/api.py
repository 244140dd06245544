"""The REST API of businesses and callers (/api/v1/businesses/, /api/v1/callers/).

Reads through the pages' QuerySet methods (`Business.objects.for_user`,
`Caller.objects.for_user`, `Caller.objects.search`), writes through callers.services
(`business_save`, `caller_create`, `caller_update`, `caller_merge`): the rules live there.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from callers.models import Business, Caller, NumbersOf
from callers.services import (
    CallerConflict,
    CallerGone,
    business_save,
    caller_create,
    caller_merge,
    caller_update,
    caller_viewed,
)
from receptionist.api import ApiView, Body, conflict, page_of, paged, refusal, stale

PAGE_SIZE = 50
BIG_ID = 2**63 - 1


# --- businesses -----------------------------------------------------------------------------


class BusinessSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    time_zone = serializers.CharField()
    greeting = serializers.CharField()
    instructions = serializers.CharField()
    after_hours_instructions = serializers.CharField()
    active = serializers.BooleanField()
    numbers = serializers.ListField(child=serializers.CharField())

    def to_representation(self, business):
        return {
            "id": business.pk,
            "name": business.name,
            "time_zone": business.time_zone,
            "greeting": business.greeting,
            "instructions": business.instructions,
            "after_hours_instructions": business.after_hours_instructions,
            "active": business.active,
            "numbers": [n.number.as_e164 for n in business.inbound_numbers.all()],
        }


class BusinessWriteSerializer(Body):
    """A business's own words and clock; `numbers`, when sent, replace the ones it had."""

    name = serializers.CharField(max_length=200, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    greeting = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    instructions = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    after_hours_instructions = serializers.CharField(
        max_length=5000, required=False, allow_blank=True
    )
    numbers = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=50
    )


def _save(**values):
    """business_save, its refusals named as the API names the fields (`numbers`)."""
    try:
        return business_save(**values)
    except DjangoValidationError as refused:
        errors = refusal(refused)
        if "inbound_numbers" in errors:
            errors["numbers"] = errors.pop("inbound_numbers")
        raise ValidationError(errors) from None


def _businesses(user):
    return Business.objects.for_user(user).prefetch_related("inbound_numbers").order_by("name")


class BusinessList(ApiView):
    required_for = {"GET": ("callers.view_business",), "POST": ("callers.add_business",)}
    known_params = frozenset({"cursor"})

    @extend_schema(
        parameters=[OpenApiParameter("cursor", str)], responses=BusinessSerializer(many=True)
    )
    def get(self, request):
        page = page_of(
            request, _businesses(request.user), key="name", descending=False, size=PAGE_SIZE
        )
        return paged(request, page, [BusinessSerializer(b).data for b in page.items])

    @extend_schema(request=BusinessWriteSerializer, responses={201: BusinessSerializer})
    def post(self, request):
        sent = BusinessWriteSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        data = dict(sent.validated_data)
        if not data.get("name"):
            raise ValidationError({"name": ["Name the business."]})
        business = _save(user=request.user, numbers=data.pop("numbers", None), **data)
        shown = _businesses(request.user).get(pk=business.pk)
        return Response(BusinessSerializer(shown).data, status=status.HTTP_201_CREATED)


class BusinessDetail(ApiView):
    required_for = {"GET": ("callers.view_business",), "PATCH": ("callers.change_business",)}

    @extend_schema(responses=BusinessSerializer)
    def get(self, request, pk):
        return Response(
            BusinessSerializer(get_object_or_404(_businesses(request.user), pk=pk)).data
        )

    @extend_schema(request=BusinessWriteSerializer, responses=BusinessSerializer)
    def patch(self, request, pk):
        business = get_object_or_404(_businesses(request.user), pk=pk)
        sent = BusinessWriteSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        data = dict(sent.validated_data)
        _save(user=request.user, business=business, numbers=data.pop("numbers", None), **data)
        return Response(BusinessSerializer(_businesses(request.user).get(pk=pk)).data)


# --- callers --------------------------------------------------------------------------------


class CallerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    business = serializers.IntegerField()
    name = serializers.CharField()
    organisation = serializers.CharField()
    email = serializers.CharField()
    things_to_remember = serializers.CharField()
    is_vip = serializers.BooleanField()
    caution = serializers.BooleanField()
    caution_note = serializers.CharField()
    numbers = serializers.ListField(child=serializers.CharField())
    version = serializers.IntegerField()

    def to_representation(self, caller):
        """`caller`: a row of `_callers` (values(): no model instances, see calls.api)."""
        return {
            "id": caller["pk"],
            "business": caller["business_id"],
            "name": caller["name"],
            "organisation": caller["organisation"],
            "email": caller["email"],
            "things_to_remember": caller["things_to_remember"],
            "is_vip": caller["is_vip"],
            "caution": caller["caution"],
            "caution_note": caller["caution_note"],
            "numbers": list(caller["numbers"] or []),
            "version": caller["version"],
        }


class CallerFieldsSerializer(Body):
    name = serializers.CharField(max_length=200, required=False)
    organisation = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    things_to_remember = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    is_vip = serializers.BooleanField(required=False)
    caution = serializers.BooleanField(required=False)
    caution_note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class CallerCreateSerializer(CallerFieldsSerializer):
    name = serializers.CharField(max_length=200)
    business = serializers.IntegerField(min_value=1, max_value=BIG_ID, required=False)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class CallerUpdateSerializer(CallerFieldsSerializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


CALLER_COLUMNS = (
    "pk",
    "business_id",
    "name",
    "organisation",
    "email",
    "things_to_remember",
    "is_vip",
    "caution",
    "caution_note",
    "version",
)


def _people(user):
    return Caller.objects.for_user(user).people()


def _callers(user, callers=None):
    """The callers the person may see (or those of `callers`) as the API reads them."""
    callers = _people(user) if callers is None else callers
    return callers.values(*CALLER_COLUMNS, numbers=NumbersOf("pk"))


def _caller_data(user, pk) -> dict:
    """The caller as the API gives it, or 404 when the person may not see them."""
    return CallerSerializer().to_representation(get_object_or_404(_callers(user), pk=pk))


class CallerList(ApiView):
    """Callers by name; `q` searches names, organisations and numbers as /callers/ does."""

    required_for = {"GET": ("callers.view_caller",), "POST": ("callers.add_caller",)}
    known_params = frozenset({"cursor", "q"})

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str),
            OpenApiParameter("q", str, description="A name, organisation or number."),
        ],
        responses=CallerSerializer(many=True),
    )
    def get(self, request):
        text = request.query_params.get("q", "").strip()
        if len(text) > 200:
            raise ValidationError({"q": ["At most 200 characters."]})
        callers = _people(request.user)
        if text:
            callers = callers.search(text)
        page = page_of(
            request, _callers(request.user, callers), key="name", descending=False, size=PAGE_SIZE
        )
        serializer = CallerSerializer()
        return paged(request, page, [serializer.to_representation(c) for c in page.items])

    @extend_schema(request=CallerCreateSerializer, responses={201: CallerSerializer})
    def post(self, request):
        sent = CallerCreateSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        data = dict(sent.validated_data)
        businesses = Business.objects.for_user(request.user).filter(active=True)
        if "business" in data:
            business = businesses.filter(pk=data.pop("business")).first()
            if business is None:
                raise ValidationError({"business": ["No such active business of yours."]})
        else:
            # One business to choose from (a single office): that one.
            choices = list(businesses[:2])
            if len(choices) != 1:
                raise ValidationError({"business": ["Say which business the caller is of."]})
            business = choices[0]
        caller = caller_create(
            business=business,
            name=data.pop("name"),
            phone=data.pop("phone", "") or None,
            user=request.user,
            **data,
        )
        return Response(_caller_data(request.user, caller.pk), status=status.HTTP_201_CREATED)


class CallerDetail(ApiView):
    required_for = {"GET": ("callers.view_caller",), "PATCH": ("callers.change_caller",)}

    @extend_schema(responses=CallerSerializer)
    def get(self, request, pk):
        data = _caller_data(request.user, pk)
        caller_viewed(caller_id=pk, user=request.user)
        return Response(data)

    @extend_schema(
        request=CallerUpdateSerializer,
        responses={200: CallerSerializer, 409: OpenApiTypes.OBJECT},
    )
    def patch(self, request, pk):
        caller = get_object_or_404(_people(request.user), pk=pk)
        sent = CallerUpdateSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        changes = dict(sent.validated_data)
        version = changes.pop("version")
        try:
            caller_update(
                caller_id=caller.pk, expected_version=version, user=request.user, changes=changes
            )
        except CallerConflict as changed:
            return conflict(_caller_data(request.user, pk), stale(version, changed.current.version))
        except CallerGone:
            return Response({"detail": "Merged into another caller meanwhile."}, status=404)
        return Response(_caller_data(request.user, pk))


class MergeSerializer(Body):
    into = serializers.IntegerField(min_value=1, max_value=BIG_ID)


class CallerMerge(ApiView):
    """Merge this caller into another (`into`): their calls and numbers move over."""

    required = ("callers.merge_caller",)

    @extend_schema(request=MergeSerializer, responses=CallerSerializer)
    def post(self, request, pk):
        source = get_object_or_404(_people(request.user), pk=pk)
        sent = MergeSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        target = _people(request.user).filter(pk=sent.validated_data["into"]).first()
        if target is None:
            raise ValidationError({"into": ["No such caller."]})
        try:
            kept = caller_merge(source=source, target=target, user=request.user)
        except CallerGone:
            return Response({"detail": "Merged into another caller meanwhile."}, status=404)
        return Response(_caller_data(request.user, kept.pk))


urlpatterns = [
    path("businesses/", BusinessList.as_view(), name="api-businesses"),
    path("businesses/<int:pk>/", BusinessDetail.as_view(), name="api-business"),
    path("callers/", CallerList.as_view(), name="api-callers"),
    path("callers/<int:pk>/", CallerDetail.as_view(), name="api-caller"),
    path("callers/<int:pk>/merge/", CallerMerge.as_view(), name="api-caller-merge"),
]
