"""Walk the URLconf: every API route, its view class and the scopes it declares."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    """One API route: its path template, view class and the method → action map."""

    path: str
    view_class: type
    actions: dict

    @property
    def is_object_route(self) -> bool:
        """A route addressing one object by its id."""
        return "<pk>" in self.path or "(?P<pk>" in self.path

    @property
    def is_sampled(self) -> bool:
        """A route addressed by a URL part filled from SAMPLES (e.g. a phone number), not a list."""
        return any(part in self.path for part in SAMPLES)


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def api_routes() -> list[Route]:
    """Every DRF route under /api/v1/ except the schema."""
    routes = []
    for path, callback in _walk(get_resolver().url_patterns):
        view_class = getattr(callback, "cls", None)
        if not path.startswith("api/v1/") or view_class is None or "schema" in path:
            continue
        actions = getattr(callback, "actions", None) or {
            m: m for m in ("get", "post", "patch", "put", "delete") if hasattr(view_class, m)
        }
        routes.append(Route(path, view_class, dict(actions)))
    return routes


# Samples for URL parts other than an object's id (each route's own tests read real ones).
SAMPLES = {"<str:e164>": "+14155550100"}


def concrete_path(route: Route, pk: str) -> str:
    """The route's path with `pk` filled in (and any other part with its sample)."""
    path = route.path
    for part, sample in SAMPLES.items():
        path = path.replace(part, sample)
    for token in ("(?P<pk>[a-z]{2,4}_[0-9a-z]{26})", "<pk>"):
        path = path.replace(token, pk)
    return "/" + path.replace("^", "").replace("$", "")
