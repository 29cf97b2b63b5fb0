"""What OPTIONS answers on every API route."""

from rest_framework.metadata import SimpleMetadata


class TernMetadata(SimpleMetadata):
    """OPTIONS: the route's name, methods and media types, for anyone (CONTRACT §3: 200, never 401).

    DRF's default also describes each write's fields by re-running the permission check as
    that write, which needs a token and a scope; the schema at /api/v1/schema/ documents fields.
    """

    def determine_metadata(self, request, view):
        """Name, description, renders, parses, and the methods the route takes."""
        metadata = super().determine_metadata(request, view)
        metadata["methods"] = [m for m in view.allowed_methods if m != "OPTIONS"] + ["OPTIONS"]
        return metadata

    def determine_actions(self, request, view):
        """No per-write field descriptions (see the class docstring)."""
        return {}
