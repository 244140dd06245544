"""What happened to calls and escalations, told to whoever listens without calls importing
them (followups records its webhooks' events: followups.apps).

Each is sent by calls/services.py inside the service's transaction, after the write, with
`instance` (the Call or the Escalation): a receiver that writes does so in that transaction,
and what it wrote is rolled back with the rest. Receivers record; they decide nothing.
"""

from django.dispatch import Signal

call_logged = Signal()  # call_log saved a new call
message_taken = Signal()  # a call's message for its business is to be e-mailed (once)
escalation_raised = Signal()
escalation_acknowledged = Signal()
escalation_resolved = Signal()
