from django.apps import AppConfig


class CallersConfig(AppConfig):
    name = "callers"
