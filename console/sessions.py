"""Sessions end after 12 h idle: activity refreshes the expiry at most once a minute (CONTRACT §11).

For page authors: a page's own polling must not keep a session alive, so every htmx request that
polls (`hx-trigger="every …"`) carries the header `X-Tern-Poll: 1`, e.g.
`hx-headers='{"X-Tern-Poll": "1"}'` on the polling element; such requests never refresh the session.
"""

import time

from django.conf import settings

from workspaces.middleware import is_api_path

REFRESHED_KEY = "tern_refreshed_at"
POLL_HEADER = "X-Tern-Poll"


def is_poll(request) -> bool:
    """True for a page's own polling request (header `X-Tern-Poll: 1`)."""
    return request.headers.get(POLL_HEADER) == "1"


class SessionRefreshMiddleware:
    """Marks a signed-in session modified at most once a minute, so its expiry moves on by 12 h.

    Django saves a session (and re-sends its cookie with a new expiry) only when it changed; the
    timestamp written here is that change. The same once-a-minute beat records the session in
    allauth's user sessions (the list behind `Sign out everywhere`), however it was signed in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api_path(request.path_info):  # bearer tokens, never a session (DRF sets .user)
            return response
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or is_poll(request):
            return response
        now = int(time.time())
        last = request.session.get(REFRESHED_KEY, 0)
        if now - last >= settings.SESSION_REFRESH_SECONDS:
            request.session[REFRESHED_KEY] = now
            self.track(request)
        return response

    @staticmethod
    def track(request) -> None:
        """Record (or touch) this session in allauth's user sessions."""
        from allauth.usersessions.models import UserSession

        if request.session.session_key is None:
            request.session.save()
        UserSession.objects.create_from_request(request)
