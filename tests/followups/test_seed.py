import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import F

from callers.models import Business, Caller, CallerPhone
from calls.models import Call
from followups.models import Callback, CallbackStatus, KeptBy, PromiseKeeping

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_a_realistic_mix(capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo", "--calls", "600", "--callers", "60", "--seed", "7")
    assert Call.objects.count() == 600
    assert Caller.objects.count() == 60
    natures = set(Call.objects.values_list("nature", flat=True))
    assert natures == {"sales", "appointment", "urgent", "other"}
    assert Call.objects.filter(mood__in=["angry", "abusive"]).exists()
    assert Call.objects.filter(
        started_at__lt=Call.objects.latest("started_at").started_at.replace(day=1)
    ).exists()
    out = capsys.readouterr().out
    # Three businesses by default: the office's own and two clients, a tenth of the calls
    # each, every one described as a receptionist needs it.
    assert "calls of Front desk: 480/480 (100%)" in out
    assert "calls of Riverside Veterinary Clinic: 60/60 (100%)" in out
    assert "calls of Harbor Dental: 60/60 (100%)" in out
    for business in Business.objects.all():
        assert "{receptionist}" in business.greeting and business.instructions
        assert business.inbound_numbers.count() == 1 and business.contacts.exists()
        assert business.hours.count() == 6
    assert "Demo login: reception / " in out
    manager = get_user_model().objects.get(username="manager")
    assert manager.groups.filter(name="Managers").exists() and manager.is_staff
    # Every call that promised a callback has one; the old ones were kept, with an attempt.
    promised = Call.objects.filter(outcome="callback_scheduled")
    assert Callback.objects.count() == promised.count() > 0
    done = Callback.objects.filter(status=CallbackStatus.DONE)
    assert done.exists() and all(c.attempts.count() == 1 for c in done[:20])
    assert not Callback.objects.filter(due_at__lt=F("call__started_at")).exists()
    assert "callbacks: " in out
    # A few calls came from a withheld number (the call log's filter has rows to show).
    withheld = Call.objects.filter(phone="")
    assert withheld.exists() and not withheld.filter(outcome="callback_scheduled").exists()
    # Privacy: every number is a fictional one (the 555 exchange), the e-mails example.com.
    numbers = [p.number.national_number for p in CallerPhone.objects.all()]
    assert numbers and all(str(n)[3:6] == "555" for n in numbers)
    called = [
        p.national_number for p in Call.objects.exclude(phone="").values_list("phone", flat=True)
    ]
    assert called and all(str(n)[3:6] == "555" for n in called)
    emails = [e for e in Caller.objects.values_list("email", flat=True) if e]
    assert emails and all(e.endswith("@example.com") for e in emails)


def test_seed_demo_if_empty_is_idempotent(capsys):
    call_command("seed_demo", "--calls", "50", "--if-empty")
    call_command("seed_demo", "--calls", "50", "--if-empty")
    assert Call.objects.count() == 50
    assert "already loaded" in capsys.readouterr().out


def test_seed_demo_prints_no_password_without_debug(capsys, settings):
    settings.DEBUG = False
    call_command("seed_demo", "--calls", "10")
    out = capsys.readouterr().out
    assert "Demo login" not in out
    assert not get_user_model().objects.get(username="reception").has_usable_password()


def test_seed_demo_refuses_negative_sizes():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--calls", "-1")


def test_demo_staff_have_names_and_addresses_and_the_console_is_named(capsys, settings):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    call_command("seed_demo", "--calls", "10")
    rita = get_user_model().objects.get(username="reception")
    assert (rita.get_full_name(), rita.email) == ("Rita Reception", "reception@example.com")
    assert "printed in this terminal" in capsys.readouterr().out


def test_the_demo_keeps_promises_both_ways(settings):
    """The default business's team keeps its promises; at the second business, the person
    who promised keeps them until they come at risk (in their Mine)."""
    call_command("seed_demo", "--calls", "2000", "--days", "2", "--seed", "3")
    team = Business.objects.default()
    other = Business.objects.get(name="Riverside Veterinary Clinic")
    assert PromiseKeeping.objects.kept_by(team.pk) == KeptBy.TEAM
    assert PromiseKeeping.objects.kept_by(other.pk) == KeptBy.PROMISER
    kept = Callback.objects.filter(business=other, returns_to_team_at__isnull=False)
    assert kept.exists()
    assert not kept.exclude(assigned_to=F("created_by")).exists()
    assert not Callback.objects.filter(business=team, returns_to_team_at__isnull=False).exists()


def test_the_demo_has_escalations_waiting_and_resolved(capsys):
    """Difficult callers were escalated: each business's newest escalations still wait for
    a manager (a few, open or acknowledged), the older ones are resolved, most debriefed."""
    from calls.models import Escalation, EscalationStatus
    from followups.demo.loader import UNRESOLVED_PER_BUSINESS

    call_command("seed_demo", "--calls", "3000", "--days", "30", "--seed", "5")
    escalations = Escalation.objects.all()
    assert escalations.count() >= Call.objects.filter(mood="abusive").count() > 0
    assert not escalations.exclude(call__mood__in=["angry", "abusive"]).exists()
    for business in Business.objects.all():
        waiting = escalations.filter(call__business=business).unresolved()
        assert 0 < waiting.count() <= UNRESOLVED_PER_BUSINESS
        # The waiting ones are the newest of that business.
        newest_resolved = (
            escalations.filter(call__business=business, status=EscalationStatus.RESOLVED)
            .order_by("-raised_at")
            .first()
        )
        assert newest_resolved is None or all(
            e.raised_at >= newest_resolved.raised_at for e in waiting
        )
    resolved = escalations.filter(status=EscalationStatus.RESOLVED)
    assert resolved.exists() and not resolved.filter(resolution="").exists()
    assert resolved.exclude(debrief="").exists()
    assert not escalations.filter(status=EscalationStatus.OPEN, acknowledged_by__isnull=False)
    assert "escalations: " in capsys.readouterr().out


@pytest.mark.parametrize("count", [1, 20])
def test_seed_demo_answers_for_as_many_businesses_as_asked(count):
    call_command("seed_demo", "--calls", "400", "--businesses", str(count), "--seed", "2")
    assert Business.objects.filter(active=True).count() == count
    assert set(Call.objects.values_list("business", flat=True)) == set(
        Business.objects.values_list("pk", flat=True)
    )
    # Each caller's calls are its business's.
    assert not Call.objects.exclude(business=F("caller__business")).exists()


def test_seed_demo_refuses_more_businesses_than_it_has_names():
    with pytest.raises(CommandError, match="--businesses must be from 1 to"):
        call_command("seed_demo", "--calls", "10", "--businesses", "99")


def test_the_demo_has_a_client_with_messages_in_the_portal(capsys, settings):
    from django.contrib.auth import get_user_model
    from django.db.models import F
    from markupsafe import escape

    from callers.models import Business
    from calls.models import Call
    from followups.models import Callback
    from tests.conftest import _client_for

    settings.DEBUG = True
    call_command("seed_demo", "--calls", "2000", "--days", "60", "--seed", "4")
    assert "Demo login: client / " in capsys.readouterr().out
    clara = get_user_model().objects.get(username="client")
    riverside = Business.objects.of_client(clara)
    assert riverside.name == "Riverside Veterinary Clinic"
    messages = Call.objects.filter(business=riverside, outcome="message_taken")
    assert messages.exists() and not messages.filter(message="").exists()
    assert messages.filter(message_status="sent").count() == messages.count()
    assert messages.filter(message_read_at__isnull=False).exists()
    # Promised on the call: a month's summary counts them in the month of the call.
    assert not Callback.objects.exclude(created_at=F("call__started_at")).exists()
    page = _client_for(clara).get("/portal/?view=messages").content.decode()
    # As the page writes it (Jinja2 escapes an apostrophe as &#39;).
    assert str(escape(messages.order_by("-started_at").first().summary)) in page
    # A second start prints the client's login again.
    call_command("seed_demo", "--if-empty")
    assert "Demo login: client / " in capsys.readouterr().out
