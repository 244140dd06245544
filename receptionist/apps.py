from django.apps import AppConfig


class ReceptionistConfig(AppConfig):
    name = "receptionist"
    verbose_name = "Front desk"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.backends.signals import connection_created
        from django.db.models.signals import m2m_changed, post_delete, post_save

        # The moment a person logs in is their session's first activity (receptionist.idle).
        from receptionist import idle  # noqa: F401
        from receptionist.plans import install
        from receptionist.roles import forget_staff_choices

        # Which statements PostgreSQL plans once per connection (receptionist.plans).
        connection_created.connect(install, dispatch_uid="choose-plans")

        User = get_user_model()
        post_save.connect(forget_staff_choices, sender=User, dispatch_uid="staff-choices-save")
        post_delete.connect(forget_staff_choices, sender=User, dispatch_uid="staff-choices-del")
        m2m_changed.connect(
            forget_staff_choices, sender=User.groups.through, dispatch_uid="staff-choices-groups"
        )
