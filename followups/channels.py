"""How a person on call is told of an urgent message: channels, each a small backend.

A channel says whether it can reach a person (`address`: their address on it, or "") and
sends them a notice (`send`, raising on failure). settings.DELIVERY_CHANNELS lists the
channels by dotted path, in order of preference: a person is told through the first one
that can reach them. E-mail is the one channel today; an SMS or voice backend is a class
with the same three members added to that list, and the ladder (followups.deliveries)
does not change.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Notice:
    """What a person on call is told: a subject and a whole text (an e-mail), a line for
    channels that carry little (a text message, a voice call reads it out), and the link
    that confirms it."""

    subject: str
    text: str
    line: str
    confirm_url: str


class Channel:
    """A way to tell a person on call. `name` is recorded on each step of the delivery log;
    `label` is how the log says it ("by e-mail")."""

    name = ""
    label = ""

    def address(self, person: dict) -> str:
        """The address to reach this person on (the contact as the ladder recorded it:
        name, email, phone, role), or "" when this channel cannot reach them."""
        raise NotImplementedError

    def send(self, address: str, notice: Notice) -> None:
        """Send the notice; raise on any failure (the step is recorded as failed and the
        ladder moves on to the next person)."""
        raise NotImplementedError


class EmailChannel(Channel):
    """E-mail, through Django's mail backend (settings EMAIL_*)."""

    name = "email"
    label = "e-mail"

    def address(self, person: dict) -> str:
        return person.get("email") or ""

    def send(self, address: str, notice: Notice) -> None:
        send_mail(
            notice.subject, notice.text, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False
        )


@lru_cache(maxsize=4)
def _loaded(paths: tuple[str, ...]) -> tuple[Channel, ...]:
    return tuple(import_string(path)() for path in paths)


def channels() -> tuple[Channel, ...]:
    """The channels of settings.DELIVERY_CHANNELS, in order."""
    return _loaded(tuple(settings.DELIVERY_CHANNELS))


def reach(person: dict) -> tuple[Channel, str] | None:
    """The first channel that can reach this person, with their address on it; None."""
    for channel in channels():
        address = channel.address(person)
        if address:
            return channel, address
    return None


def channel_named(name: str) -> Channel | None:
    return next((channel for channel in channels() if channel.name == name), None)


def label_of(name: str) -> str:
    """How the delivery log says a channel ("e-mail"); its name when no longer configured."""
    channel = channel_named(name)
    return channel.label if channel is not None else name
