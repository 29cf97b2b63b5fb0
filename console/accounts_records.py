"""Recent sign-ins, shown on /account/: a short list per person, kept small (the last 20)."""

from allauth.account.signals import user_logged_in
from django.conf import settings
from django.db import models
from django.dispatch import receiver

KEPT_PER_PERSON = 20


class SignIn(models.Model):
    """One completed sign-in through the sign-in page (password, then two-factor if set)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_sign_ins"
    )
    at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    two_factor = models.BooleanField(default=False)

    class Meta:
        app_label = "console"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="console_signin_user_at")]

    def __str__(self) -> str:
        return f"{self.user_id} at {self.at:%Y-%m-%d %H:%M}"


def recent_sign_ins(user, limit: int = 10) -> list[SignIn]:
    """The person's latest sign-ins, newest first."""
    return list(SignIn.objects.filter(user=user)[:limit])


@receiver(user_logged_in, dispatch_uid="console.accounts_records.record_sign_in")
def record_sign_in(sender, request, user, **kwargs) -> None:
    """Record a completed sign-in and drop the person's oldest beyond the kept few."""
    from console.two_factor import session_used_two_factor

    SignIn.objects.create(
        user=user,
        ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        two_factor=session_used_two_factor(request, user),
    )
    old = SignIn.objects.filter(user=user).values_list("pk", flat=True)[KEPT_PER_PERSON:]
    SignIn.objects.filter(pk__in=list(old)).delete()
