"""The demo's businesses: an answering service's clients, each with a greeting, opening
hours on its own clock, an inbound number and a contact."""

from datetime import time

from callers.models import Business, BusinessContact, InboundNumber, OpeningHours

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
        BusinessContact.objects.get_or_create(
            business=business,
            name="Office manager",
            defaults={"email": f"office{place}@example.com", "role": "Office manager"},
        )
    return businesses
