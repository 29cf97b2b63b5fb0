"""The base of every API view: querysets built from the token's workspace and mode, never .all()."""

from rest_framework import mixins, viewsets
from rest_framework.response import Response

PREFIXED_ID = r"[a-z]{2,4}_[0-9a-z]{26}"


def client_ip(request) -> str | None:
    """The caller's address, for the audit log."""
    return request.META.get("REMOTE_ADDR")


class WorkspaceViewSet(viewsets.GenericViewSet):
    """Rows reach a view only through `model.objects.visible_to(request.token)`.

    Subclasses set `model`, `serializer_class` and `required_scopes` ({action: scope}).
    """

    model = None
    required_scopes: dict[str, str] = {}
    lookup_value_regex = PREFIXED_ID

    def get_queryset(self):
        """This workspace's (and this mode's) rows, narrowed by `scope_queryset`."""
        return self.scope_queryset(self.model.objects.visible_to(self.request.token))

    def scope_queryset(self, queryset):
        """Hook for a view's own narrowing (e.g. hide removed rows)."""
        return queryset

    def get_serializer_context(self):
        """Serializers resolve related ids inside this workspace only."""
        context = super().get_serializer_context()
        context["workspace"] = getattr(self.request, "workspace", None)
        return context

    @property
    def actor(self):
        """The audit actor for this request's token."""
        from ..services import token_actor

        return token_actor(self.request.token)


class ListRetrieveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Read-only list + detail."""


def created(serializer_class, instance, *, status=201, context=None, extra=None):
    """A JSON response for a new or changed object."""
    data = serializer_class(instance, context=context or {}).data
    if extra:
        data = {**data, **extra}
    return Response(data, status=status)
