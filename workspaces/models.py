"""Workspaces and what hangs off them directly: members, tokens, senders, spend, the audit log."""

from decimal import Decimal
from functools import lru_cache
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .ids import PrefixedIdField
from .scopes import ROLE_CHOICES

DEFAULT_ALLOWED_COUNTRIES = ("AU", "CA", "GB", "US")


def default_allowed_countries() -> list[str]:
    """US, CA, GB and AU, as CONTRACT §3 sets the default."""
    return list(DEFAULT_ALLOWED_COUNTRIES)


# The workspace's sending settings: editable through the API and the admin, audited when changed.
WORKSPACE_SETTINGS = (
    "allowed_countries",
    "verified_recipients",
    "duplicate_window_seconds",
    "rate_limit_per_second",
    "default_sender",
    "default_country",
    "help_text",
    "blocked_terms",
    "provider",
    "require_two_factor",
    "timezone",
)


@lru_cache(maxsize=1)
def timezone_names() -> frozenset[str]:
    """Every IANA time zone name this machine's tz database knows."""
    return frozenset(available_timezones())


def validate_timezone(value: str) -> None:
    """An IANA time zone name, such as `America/New_York` or `UTC`."""
    if value not in timezone_names():
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. America/New_York).")


class Workspace(models.Model):
    """A business texting its customers: the unit of tenancy."""

    id = PrefixedIdField("ws")
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD", editable=False)
    test_mode = models.BooleanField(default=True)
    spend_limit = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    allowed_countries = models.JSONField(default=default_allowed_countries, blank=True)
    verified_recipients = models.JSONField(default=list, blank=True)
    duplicate_window_seconds = models.PositiveIntegerField(default=60)
    rate_limit_per_second = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    default_sender = models.CharField(max_length=20, blank=True, default="")
    default_country = models.CharField(max_length=2, default="US")
    help_text = models.TextField(blank=True, default="")
    blocked_terms = models.JSONField(default=list, blank=True)
    # Staff-set per-segment prices by destination country, e.g. {"US": "0.0065"}: they replace
    # the table's rate (messaging/data/prices.csv) and travel with the workspace row at no cost.
    price_overrides = models.JSONField(default=dict, blank=True)
    # Set by staff only; overrides SMS_PROVIDER for this workspace.
    provider = models.CharField(max_length=32, blank=True, default="")
    # Members without two-factor are sent to its set-up page in the console (not API tokens).
    require_two_factor = models.BooleanField(default=False)
    # The console's "today" and the times it shows (CONTRACT §2).
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class WorkspaceScopedQuerySet(models.QuerySet):
    """Queries that start from a workspace: the only way views and services reach rows."""

    def for_workspace(self, workspace: Workspace | str):
        """Rows of this workspace only."""
        return self.filter(workspace_id=getattr(workspace, "pk", workspace))

    def visible_to(self, token: "ApiToken"):
        """Rows this token may see: its workspace, and its mode where the model has one."""
        qs = self.for_workspace(token.workspace_id)
        if hasattr(self.model, "MODE_SCOPED") and self.model.MODE_SCOPED:
            qs = qs.filter(test=token.is_test)
        return qs


class WorkspaceScopedModel(models.Model):
    """Base of every tenant-owned model: a workspace foreign key and `for_workspace()`."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class ModeScopedModel(WorkspaceScopedModel):
    """A tenant-owned model split into test and live data, as at Stripe."""

    MODE_SCOPED = True
    test = models.BooleanField(default=False, db_index=True)

    class Meta:
        abstract = True


class MembershipQuerySet(WorkspaceScopedQuerySet):
    """Memberships; `current()` leaves out the removed ones."""

    def current(self):
        """Members now: not removed, not left."""
        return self.filter(removed_at=None)


class Membership(WorkspaceScopedModel):
    """A person's role in a workspace, kept after removal (their tokens and invitations point
    here); a person invited again gets a new row, so the old one keeps its history."""

    id = PrefixedIdField("mem")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=ROLE_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user"],
                condition=models.Q(removed_at=None),
                name="membership_unique_current_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} of {self.workspace_id}"


class ApiToken(WorkspaceScopedModel):
    """A bearer token: stored as a SHA-256 hash, its secret shown once at creation."""

    LIVE, TEST = "live", "test"
    id = PrefixedIdField("tok")
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=[(LIVE, "live"), (TEST, "test")])
    prefix = models.CharField(max_length=20)
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @property
    def is_test(self) -> bool:
        """True for a test-mode token (test data only, simulator, price 0)."""
        return self.mode == self.TEST

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Invitation(WorkspaceScopedModel):
    """An emailed link to join a workspace with a role (or, kind `owner_setup`, the link
    `create_workspace` prints for the owner to set a password); its key is stored hashed."""

    INVITE, OWNER_SETUP = "invite", "owner_setup"
    PENDING, ACCEPTED, REVOKED, EXPIRED = "pending", "accepted", "revoked", "expired"
    STATUS_CHOICES = [(s, s) for s in (PENDING, ACCEPTED, REVOKED)]
    id = PrefixedIdField("inv")
    kind = models.CharField(
        max_length=12, choices=[(INVITE, "invite"), (OWNER_SETUP, "owner set-up")], default=INVITE
    )
    email = models.EmailField(max_length=254)  # stored lower-case
    role = models.CharField(max_length=20, choices=ROLE_CHOICES)
    key_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "email"], name="invitation_ws_email")]

    def status_at(self, now) -> str:
        """pending, accepted, revoked, or expired (a pending one past its expiry)."""
        if self.status == self.PENDING and self.expires_at <= now:
            return self.EXPIRED
        return self.status

    def __str__(self) -> str:
        return f"{self.email} as {self.role} ({self.status})"


class Sender(WorkspaceScopedModel):
    """A number a workspace sends from; one workspace per number platform-wide."""

    LONG_CODE, TOLL_FREE, SHORT_CODE = "long_code", "toll_free", "short_code"
    KIND_CHOICES = [(LONG_CODE, "long code"), (TOLL_FREE, "toll-free"), (SHORT_CODE, "short code")]
    KIND_MPS = {LONG_CODE: 1, TOLL_FREE: 3, SHORT_CODE: 100}
    id = PrefixedIdField("snd")
    number = models.CharField(max_length=20)
    kind = models.CharField(max_length=10, choices=KIND_CHOICES, default=LONG_CODE)
    country = models.CharField(max_length=2, default="US")
    sms_capable = models.BooleanField(default=True)
    toll_free_verified = models.BooleanField(default=False)
    mps = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=models.Q(removed_at=None),
                name="sender_number_unique_active",
            )
        ]

    def __str__(self) -> str:
        return self.number


MONEY_UNITS_PER_USD = 10_000


def usd_to_units(amount: Decimal) -> int:
    """USD (at most 4 decimals) as whole ten-thousandths."""
    return int((Decimal(amount) * MONEY_UNITS_PER_USD).to_integral_value())


def units_to_usd(units: int) -> Decimal:
    """Whole ten-thousandths as USD with 4 decimals."""
    return (Decimal(units) / MONEY_UNITS_PER_USD).quantize(Decimal("0.0001"))


class SpendMonth(WorkspaceScopedModel):
    """A workspace's spend in one UTC month: reservations and settled charges, one hot row."""

    month = models.DateField()  # the first day of the UTC month
    # Whole ten-thousandths of a dollar: integer sums are exact on every database (SQLite's
    # decimals are floats), so the limit check can never drift by a rounding error.
    units = models.BigIntegerField(default=0)
    # The highest spend alert (80 or 100 % of the limit) already sent this month: each goes once.
    alerted_percent = models.PositiveSmallIntegerField(default=0)

    @property
    def amount(self) -> Decimal:
        """The month's spend in USD."""
        return units_to_usd(self.units)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "month"], name="spend_month_unique")
        ]


class AuditEvent(WorkspaceScopedModel):
    """One entry of a workspace's append-only, hash-chained audit log (CONTRACT §9)."""

    id = PrefixedIdField("aud")
    seq = models.PositiveBigIntegerField()
    actor_type = models.CharField(max_length=10)  # user | token | staff | system
    actor_id = models.CharField(max_length=64, blank=True, default="")
    actor_label = models.CharField(max_length=254, blank=True, default="")
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=40, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.CharField(max_length=45, null=True, blank=True)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "seq"], name="audit_event_unique_seq")
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_ws_created")]


class AuditChainHead(WorkspaceScopedModel):
    """The head of a workspace's audit chain, locked while an event is appended."""

    head_hash = models.CharField(max_length=64, default="0" * 64)
    head_event_id = models.CharField(max_length=40, blank=True, default="")
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="audit_head_unique")]


class Heartbeat(models.Model):
    """When the worker and the scheduler last showed signs of life (global, not tenant data)."""

    name = models.CharField(max_length=32, primary_key=True)
    beat_at = models.DateTimeField()


class AuditChainCheck(WorkspaceScopedModel):
    """One run of the chain verifier over a workspace's audit log, asked for from the console.

    Kept so that the answer outlives the worker that found it: a page reloaded without
    JavaScript, or opened later, shows the latest verdict and who asked for it.
    """

    PENDING, RUNNING, DONE = "pending", "running", "done"

    id = PrefixedIdField("acc")
    status = models.CharField(max_length=10, default=PENDING)
    requested_by = models.CharField(max_length=254, blank=True, default="")
    requested_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    count = models.PositiveBigIntegerField(null=True, blank=True)
    broken_event_id = models.CharField(max_length=40, blank=True, default="")
    problem = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["workspace", "-requested_at"], name="acc_ws_requested")]
