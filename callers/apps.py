from django.apps import AppConfig


class CallersConfig(AppConfig):
    name = "callers"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from callers.models import (
            Business,
            ClosedDay,
            InboundNumber,
            OpeningHours,
            forget_active_businesses,
        )

        for model in (Business, OpeningHours, InboundNumber, ClosedDay):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_active_businesses,
                    sender=model,
                    dispatch_uid=f"active-businesses-{signal is post_save}-{model.__name__}",
                )
