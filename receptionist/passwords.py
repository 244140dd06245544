"""A password validator Django does not ship: a longest password."""

from django.core.exceptions import ValidationError


class MaximumLengthValidator:
    """At most `max_length` characters: hashing a 200,000-character password on every
    login is work anyone could ask of the server, and nobody types one."""

    def __init__(self, max_length: int = 256):
        self.max_length = max_length

    def validate(self, password, user=None):
        if len(password) > self.max_length:
            raise ValidationError(
                f"A password is at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self):
        return f"Your password can be at most {self.max_length} characters."
