"""factory-boy factories for the test suite."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from callers.models import Business, Caller, CallerPhone
from calls.models import Call
from followups.models import Callback
from receptionist.roles import MANAGERS, RECEPTIONISTS, ensure_groups


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(ensure_groups()[extracted])
        if create:
            self.save()


def receptionist_user(**kwargs):
    return UserFactory(role=RECEPTIONISTS, **kwargs)


def manager_user(**kwargs):
    return UserFactory(role=MANAGERS, is_staff=True, **kwargs)


class CallerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Caller
        skip_postgeneration_save = True

    business = factory.LazyFunction(lambda: Business.objects.default())
    name = factory.Faker("name")

    @factory.post_generation
    def phone(self, create, extracted, **kwargs):
        if create and extracted:
            CallerPhone.objects.create(caller=self, number=extracted)


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    caller = factory.SubFactory(CallerFactory)
    business = factory.SelfAttribute("caller.business")
    taken_by = factory.SubFactory(UserFactory)
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=10))
    ended_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(minutes=3))
    summary = factory.Faker("sentence", nb_words=6)
    phone = "+12125550147"


class CallbackFactory(factory.django.DjangoModelFactory):
    """An open callback due in an hour."""

    class Meta:
        model = Callback

    call = factory.SubFactory(CallFactory, outcome="callback_scheduled")
    caller = factory.SelfAttribute("call.caller")
    business = factory.SelfAttribute("call.business")
    reason = factory.SelfAttribute("call.summary")
    promise = "We'll call you back by 4:00 pm."
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    created_by = factory.SelfAttribute("call.taken_by")


def earlier_today(count: int, now=None) -> list:
    """`count` moments of today (the current time zone's day) before `now`, newest first.
    Calls meant to count as "today" must not be placed an hour or three ago: run just
    after midnight, those were yesterday's."""
    now = now or timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    span = now - start_of_day
    return [now - span * (i + 1) / (count + 1) for i in range(count)]
