"""The REST API's parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): its own module, as DRF
imports it while its views are still loading (receptionist.api imports them)."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's, with JSON nested too deeply for Python (a few KB of brackets) a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON nested too deeply.") from None
