"""Server-Timing on every response: the server's own time, as CONTRACT §12's budget is measured."""

import time


class ServerTimingMiddleware:
    """Adds `Server-Timing: app;dur=<ms>` to each response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers.setdefault("Server-Timing", f"app;dur={elapsed_ms:.1f}")
        return response
