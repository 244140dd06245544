from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_save


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = "Callbacks"

    def ready(self):
        # The tallies follow every change to what they count (followups.tally).
        from callers.models import Business
        from calls.models import Call, Escalation
        from followups import tally
        from followups.models import Callback

        pre_save.connect(tally.call_changing, sender=Call, dispatch_uid="tally-call-before")
        pre_save.connect(tally.business_changing, sender=Business, dispatch_uid="tally-zone")
        for model, receiver in (
            (Call, tally.call_saved),
            (Escalation, tally.escalation_saved),
            (Callback, tally.callback_saved),
        ):
            post_save.connect(receiver, sender=model, dispatch_uid=f"tally-{model.__name__}")
            post_delete.connect(receiver, sender=model, dispatch_uid=f"tally-{model.__name__}-x")

        # Webhooks: what calls tells of (calls.signals) is recorded in the same transaction.
        from followups import webhooks

        for signal, name in webhooks.SIGNAL_EVENTS.items():
            signal.connect(webhooks.on_call_signal, dispatch_uid=f"webhooks-{name}")
