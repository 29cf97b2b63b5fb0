"""Tern settings: one module, driven entirely by the environment (CONTRACT §1)."""

import os
from pathlib import Path

import dj_database_url
import environ
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
# Each test session (pytest sets PYTEST_VERSION) keeps its database, broker and files apart from
# `make run`'s and from any other session's; tests hand TERN_VAR_DIR on to the processes they start.
_DEFAULT_VAR = BASE_DIR / "var"
if os.environ.get("PYTEST_VERSION"):
    _DEFAULT_VAR = _DEFAULT_VAR / "test" / f"session-{os.getpid()}"
VAR_DIR = Path(environ.Env().str("TERN_VAR_DIR", default=str(_DEFAULT_VAR)))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "testserver"]),
    SMS_PROVIDER=(str, "simulator"),
    WEBHOOKS_ALLOW_PRIVATE_TARGETS=(bool, None),
)

DEBUG = env("DEBUG")


def _local_secret_key() -> str:
    """Without SECRET_KEY set, a random key kept in var/ (never in code, never logged)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key()
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "workspaces",
    "webhooks",
    "compliance",
    "messaging",
    "campaigns",
    "console",
]

MIDDLEWARE = [
    "console.middleware.ServerTimingMiddleware",
    "workspaces.middleware.RequestIdMiddleware",
    "workspaces.middleware.ApiEnvelopeMiddleware",
    "workspaces.middleware.PayloadLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "workspaces.middleware.ApiCsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "workspaces.middleware.ApiInputGuardMiddleware",
]
# /api/ and /hooks/ are CSRF-exempt (bearer tokens, signatures); this answers the rest.
CSRF_FAILURE_VIEW = "workspaces.views.csrf_failure"

ROOT_URLCONF = env.str("ROOT_URLCONF", default="config.urls")  # bench/ adds its baseline view
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context.console",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "tern.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env.str("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions + a busy timeout let the web process and the worker both write.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory, so a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
# Threads per worker process that send booked messages at their slots (messaging.sending). A few
# per process keep the provider calls overlapping; more only crowd the database (measured on two
# cores: 3 kept API sends' p95 within 2x during a broadcast, 8 did not). SQLite takes one writer.
SEND_THREADS = env.int("SEND_THREADS", default=3 if IS_POSTGRES else 2)
# The embedded default's broker is config.broker's `folder://` (kombu's filesystem transport lost
# tasks under load); `filesystem://` is read as the same embedded broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="folder://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_URL = "folder://"
CELERY_BROKER_IS_EMBEDDED = CELERY_BROKER_URL.startswith("folder://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
if CELERY_BROKER_IS_EMBEDDED:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "folder": str(BROKER_DIR),
        # The transport polls its folders: the default 1 s caps a worker at a few tasks a second.
        "polling_interval": 0.05,
    }
else:
    # Longer than the longest countdown we use (< 1 min) by far; long waits are due-time rows.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A task is acknowledged only after it ran; a worker that dies hands it back to the queue.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_DEFAULT_QUEUE = "default"
# A plain `celery -A config worker` consumes every queue named here.
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "transactional", "bulk", "webhooks")]
CELERY_WORKER_ENABLE_REMOTE_CONTROL = not CELERY_BROKER_IS_EMBEDDED
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "config.celery:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 5  # beat ticks (and records its heartbeat) at least this often
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "messaging-sweep": {"task": "messaging.tasks.sweep", "schedule": 15.0},
    "webhooks-sweep": {"task": "webhooks.tasks.sweep", "schedule": 15.0},
    "compliance-sweep": {"task": "compliance.tasks.sweep", "schedule": 300.0},
    "campaigns-sweep": {"task": "campaigns.tasks.sweep", "schedule": 5.0},
    "retention-purge": {"task": "workspaces.tasks.retention_purge", "schedule": 600.0},
    "clear-sessions": {"task": "workspaces.tasks.clear_sessions", "schedule": 86400.0},
}
CELERY_TIMEZONE = "UTC"
HEARTBEAT_STALE_SECONDS = 60
# Each worker process records its own heartbeat this often (workspaces.tasks), beat or no beat.
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=15.0)
# Retention (CONTRACT §13): how long each record is kept; purged by beat in bounded batches.
RETENTION_REFUSALS_DAYS = env.int("RETENTION_REFUSALS_DAYS", default=30)
RETENTION_PROVIDER_LOG_DAYS = env.int("RETENTION_PROVIDER_LOG_DAYS", default=30)
RETENTION_WEBHOOKS_DAYS = env.int("RETENTION_WEBHOOKS_DAYS", default=30)
RETENTION_IDEMPOTENCY_HOURS = env.int("RETENTION_IDEMPOTENCY_HOURS", default=24)
RETENTION_EXPORTS_DAYS = env.int("RETENTION_EXPORTS_DAYS", default=7)
RETENTION_SIMULATOR_LEDGER_DAYS = env.int("RETENTION_SIMULATOR_LEDGER_DAYS", default=7)
RETENTION_IMPORT_FILES_DAYS = env.int("RETENTION_IMPORT_FILES_DAYS", default=7)
RETENTION_MAIL_DAYS = env.int("RETENTION_MAIL_DAYS", default=7)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)  # ids per DELETE
RETENTION_MAX_BATCHES = env.int("RETENTION_MAX_BATCHES", default=20)  # DELETEs per table per run
# Retention: a provider report for an id Tern has not stored yet waits this long (CONTRACT §5).
PENDING_REPORT_TTL_SECONDS = env.int("PENDING_REPORT_TTL_SECONDS", default=3600)

# --- Auth, i18n, static -------------------------------------------------------------------------
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/w/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing folder before collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
EXPORTS_DIR = VAR_DIR / "exports"  # compliance export files, kept 7 days
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
# API routes that take a file (streamed to a temporary file, not memory), and their limit.
FILE_UPLOAD_PATHS = ("/api/v1/contact-imports",)
FILE_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
SECURE_CONTENT_TYPE_NOSNIFF = True
# One site-wide Content-Security-Policy (django-csp 4's shape): no inline script anywhere, the
# console's, the admin's and Swagger's scripts all served as files from this origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SESSION_COOKIE_HTTPONLY = True

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["workspaces.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["workspaces.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["workspaces.ratelimit.WorkspaceRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "workspaces.api.pagination.NewestFirstCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["workspaces.api.filtering.StrictFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["workspaces.api.parsers.TernJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["workspaces.api.parsers.TernJSONParser"],
    "DEFAULT_METADATA_CLASS": "workspaces.api.metadata.TernMetadata",
    "DEFAULT_SCHEMA_CLASS": "workspaces.api.schema.TernAutoSchema",
    "EXCEPTION_HANDLER": "workspaces.api.exceptions.handle_exception",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tern API",
    "DESCRIPTION": "Multi-tenant SMS: send, follow, comply. Every error is one envelope.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name get names that say what they are.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": ["pending", "running", "completed", "failed"],
        "MessageCategoryEnum": ["transactional", "marketing"],
        "ConsentCategoryEnum": ["marketing"],
        "InvitationStatusEnum": ["pending", "accepted", "revoked", "expired"],
        "MemberRoleEnum": "workspaces.scopes.ROLE_CHOICES",
        "NumberRecordTypeEnum": "compliance.api.numbers.ENTRY_TYPES",
    },
}

# --- Tern ---------------------------------------------------------------------------------------
SMS_PROVIDER = env("SMS_PROVIDER")
# Every provider Tern may send through, by name: a package with its Provider subclass (a third
# provider is one package and one line here). Test-mode sends always use SMS_TEST_PROVIDER.
SMS_PROVIDERS = {
    "simulator": "messaging.providers.simulator.provider.SimulatorProvider",
    "twilio": "messaging.providers.twilio.provider.TwilioProvider",
}
SMS_TEST_PROVIDER = "simulator"
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com")
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Session and CSRF cookies are Secure only when Tern is served over https (CONTRACT §11): a
# browser drops Secure cookies on http, and the embedded default is http://127.0.0.1:8000.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PUBLIC_BASE_URL.strip().lower().startswith("https://")
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
_embedded = DATABASES["default"]["ENGINE"].endswith("sqlite3") or CELERY_BROKER_IS_EMBEDDED
# The simulator's hooks are open on the embedded default and whenever it is the provider.
SIMULATOR_ENABLED = env.bool("SIMULATOR_ENABLED", default=SMS_PROVIDER == "simulator" or _embedded)
# Webhooks may target private addresses only on the embedded default and in tests (whose
# receivers listen on 127.0.0.1); tests that prove the guard turn it off themselves.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = (
    env("WEBHOOKS_ALLOW_PRIVATE_TARGETS")
    if env("WEBHOOKS_ALLOW_PRIVATE_TARGETS") is not None
    else _embedded or bool(os.environ.get("PYTEST_VERSION"))
)
TOKEN_LAST_USED_RESOLUTION_SECONDS = 60
DEFAULT_RATE_LIMIT_PER_SECOND = 50
MAX_RATE_LIMIT_PER_SECOND = 500


# --- Accounts (CONTRACT §11): django-allauth, its MFA and user-sessions apps -------------------
# Sign-in, password reset, TOTP with recovery codes and the sessions list are allauth's, configured
# here and given Tern's templates and paths (console/accounts_urls.py); Tern writes none of it.
INSTALLED_APPS += ["allauth", "allauth.account", "allauth.mfa", "allauth.usersessions"]
MIDDLEWARE += [
    "allauth.account.middleware.AccountMiddleware",
    # Innermost, so its session change is saved by SessionMiddleware on the way out.
    "console.sessions.SessionRefreshMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "console.accounts_backend.EmailBackend",  # allauth's, emails compared case-insensitively
]
ACCOUNT_ADAPTER = "console.accounts_adapter.AccountAdapter"
ACCOUNT_FORMS = {"reset_password": "console.accounts_forms.ResetPasswordForm"}
MFA_FORMS = {"activate_totp": "console.accounts_forms.ActivateTOTPForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"  # username == email today (user_get_or_create)
ACCOUNT_EMAIL_VERIFICATION = "none"  # people arrive by invitation or create_workspace
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = True  # no "Remember me": every session is the 12 h idle one
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "/login/"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # its mail offers a sign-up Tern does not have
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# Ten failed sign-ins for one email in 15 min lock it for 15 min from any address (the adapter
# holds the lock from the tenth). No per-IP limits on sign-in: a whole office shares one address.
LOGIN_LOCKOUT_SECONDS = 15 * 60
ACCOUNT_RATE_LIMITS = {
    "login": None,
    "login_failed": "10/15m/key",
    "reset_password": "5/m/key",
    "reset_password_from_key": None,
}
PASSWORD_RESET_TIMEOUT = 3600  # the emailed link is valid 1 h (Django's token, used by allauth)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_PERIOD, MFA_TOTP_DIGITS = 30, 6
MFA_TOTP_TOLERANCE = 1  # one step of clock drift; a used code stays used for the whole window
MFA_TOTP_ISSUER = "Tern"
MFA_RECOVERY_CODE_COUNT = 10
USERSESSIONS_TRACK_ACTIVITY = False  # console.sessions records activity at most once a minute
ADMIN_REQUIRE_TWO_FACTOR = env.bool(
    "ADMIN_REQUIRE_TWO_FACTOR",
    default=not (_embedded or DEBUG or os.environ.get("PYTEST_VERSION")),
)
# Sessions: 12 h idle (console.sessions refreshes at most once a minute, never on X-Tern-Poll).
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
SESSION_REFRESH_SECONDS = 60
# One cache for every process (rate limits and used TOTP codes must be seen by all of them).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    )
}
# Email: EMAIL_URL (smtp://…, consolemail://…); the embedded default writes files to var/mail/.
globals().update(env.email_url("EMAIL_URL", default="filemail://"))  # EMAIL_BACKEND, EMAIL_HOST…
if not env.str("EMAIL_URL", default=""):
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Tern <tern@localhost>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "workspaces.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
