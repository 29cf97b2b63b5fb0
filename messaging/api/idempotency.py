"""The HTTP side of `Idempotency-Key` (CONTRACT §4): replay a stored answer, store a new one."""

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from workspaces.api.exceptions import handle_exception

from ..idempotency import StoredAnswer, idempotency_claim, idempotency_finish


def replay_response(answer: StoredAnswer) -> HttpResponse:
    """The first request's answer, byte for byte, marked as a replay."""
    response = HttpResponse(answer.body, status=answer.status, content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotentMixin:
    """For views whose writes take an `Idempotency-Key`: `return self.idempotent(request, fn)`."""

    def idempotent(self, request, handler) -> HttpResponse:
        """Run `handler` under the request's Idempotency-Key, storing what it answered."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handler()
        claim = idempotency_claim(
            token=request.token, path=request.path, key=key, data=request.data
        )
        if isinstance(claim, StoredAnswer):
            return replay_response(claim)
        try:
            response = handler()
        except Exception as exc:
            response = self.idempotent_error_response(exc)
        body = JSONRenderer().render(response.data)
        idempotency_finish(row=claim, status=response.status_code, body=body)
        rendered = HttpResponse(body, status=response.status_code, content_type="application/json")
        for name, value in response.items():
            if name.lower() != "content-type":
                rendered[name] = value
        return rendered

    def idempotent_error_response(self, exc):
        """The answer an error inside the handler gets: rendered, then stored like any other."""
        return handle_exception(exc, {"request": self.request, "view": self})
