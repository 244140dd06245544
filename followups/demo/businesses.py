"""The demo's businesses: an answering service's clients, each with a greeting, opening
hours on its own clock, an inbound number, its contacts and who of them is on call when."""

from datetime import time, timedelta

from callers.models import Business, BusinessContact, InboundNumber, OpeningHours
from callers.services import on_call_save

NAMES = [
    "Riverside Veterinary Clinic",
    "Harbor Dental",
    "Maple Street Law",
    "Bright Smile Orthodontics",
    "Cedar Family Practice",
    "Northside Plumbing",
    "Lakeview Physiotherapy",
    "Summit Accounting",
    "Oak & Pine Realty",
    "Bluebird Pediatrics",
    "Greenway Landscaping",
    "Pinecrest Eye Care",
    "Metro Couriers",
    "Sunrise Chiropractic",
    "Westend Auto Repair",
    "Silver Lining Counseling",
    "Parkside Pharmacy",
    "Coastal Insurance",
    "Hilltop Kennels",
    "Union Square Tutoring",
    "Elm Street Dermatology",
    "Redwood Electric",
]
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
GREETING = "Thank you for calling {name}, this is {{receptionist}}, how may I help you?"
INSTRUCTIONS = (
    "Take a message with the caller's number and the best time to call back.\n"
    "Never promise a same-day appointment; say someone will confirm.\n"
    "Emergencies: tell the caller to hang up and dial 911."
)
AFTER_HOURS = "We are closed: take a message and promise a call back on the next working day."


def demo_businesses(count: int) -> list[Business]:
    """The office's own business, and count - 1 client businesses (made, or found by name
    when the demo is loaded again), each described as a receptionist needs it."""
    businesses = [Business.objects.default()]
    for name in NAMES[: max(0, count - 1)]:
        business, _ = Business.objects.get_or_create(name=name)
        businesses.append(business)
    for place, business in enumerate(businesses):
        business.greeting = GREETING.format(name=business.name)
        business.instructions = INSTRUCTIONS
        business.after_hours_instructions = AFTER_HOURS
        if place:
            business.time_zone = ZONES[place % len(ZONES)]
        business.save()
        business.hours.all().delete()
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(business=business, weekday=day, opens=time(8), closes=time(18))
                for day in range(5)
            ]
            + [OpeningHours(business=business, weekday=5, opens=time(9), closes=time(13))]
        )
        InboundNumber.objects.get_or_create(
            number=f"+1212555{8000 + place:04d}", defaults={"business": business}
        )
        for name, role, mailbox in CONTACTS:
            BusinessContact.objects.get_or_create(
                business=business,
                name=name,
                defaults={
                    "email": f"{mailbox}{place}@example.com",
                    "role": role,
                    "phone": f"+1212555{9000 + place * 10 + len(mailbox):04d}",
                },
            )
    return businesses


# Who the demo's businesses have: the office manager, someone on call after hours, the owner.
CONTACTS = [
    ("Office manager", "Office manager", "office"),
    ("Alex Rivera", "After-hours on call", "oncall"),
    ("Casey Morgan", "Owner", "owner"),
]


def demo_on_call(businesses, manager) -> None:
    """A whole week covered at each business, on its own clock: the office manager in
    opening hours (the owner behind them), the person on call overnight and at weekends
    (then the office manager, then the owner), and next week a swap: Wednesday night is
    the owner's. Saved through on_call_save, by a demo manager."""
    for business in businesses:
        people = {contact.name: contact.pk for contact in business.contacts.all()}
        office, on_call, owner = (people.get(name) for name, _, _ in CONTACTS)
        day, night = [office, owner], [on_call, office, owner]
        weekly = [
            {"weekday": weekday, "starts": time(8), "ends": time(18), "contacts": day}
            for weekday in range(5)
        ] + [
            {"weekday": weekday, "starts": time(18), "ends": time(8), "contacts": night}
            for weekday in range(5)
        ]
        weekly += [
            # Saturday and Sunday, 08:00 to 08:00 the next day.
            {"weekday": 5, "starts": time(8), "ends": time(8), "contacts": [on_call, owner]},
            {"weekday": 6, "starts": time(8), "ends": time(8), "contacts": [on_call, owner]},
        ]
        today = business.local_time().date()
        wednesday = today + timedelta(days=(2 - today.weekday()) % 7 + 7)
        swap = {
            "starts_on": wednesday,
            "starts": time(18),
            "ends_on": wednesday + timedelta(days=1),
            "ends": time(8),
            "contacts": [owner, office],
            "note": "Swap: Alex is away",
        }
        on_call_save(user=manager, business=business, weekly=weekly, exceptions=[swap])
