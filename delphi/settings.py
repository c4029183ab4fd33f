"""Settings for the Delphi platform, read from the environment.

With nothing set: SQLite in the project folder, console e-mail, Celery tasks run in-process.
Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and EMAIL_URL;
see .env.example.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
else:
    # Production secrets have no defaults: a missing one stops the server at start.
    SECRET_KEY = env("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The address e-mailed and printed links start with. `make run` passes DELPHI_RUN_URL (built from
# its HOST and PORT), so links follow `make run PORT=8101`; SITE_URL, when set, always wins.
SITE_URL = env("SITE_URL", default=env("DELPHI_RUN_URL", default="http://127.0.0.1:8000")).rstrip(
    "/"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "panels",
    "competencies",
    "delphi",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After whitenoise: static files keep their own long cache (see delphi/middleware.py).
    "delphi.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "delphi.middleware.MfaRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "delphi.urls"
WSGI_APPLICATION = "delphi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    # Only the questionnaire's statement card (delphi/panelist/cards.py): a page renders up to
    # 300 of them, which Django's engine is too slow for. Everything else is a Django template.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"autoescape": True},
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Persistent connections: a new connection per request cuts autosave throughput by ~6x
# (FIELD-NOTES). SQLite ignores it.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# django-axes counts failed sign-ins (the sign-in page, the admin's, and wrong two-factor
# codes) per client address and per account; either reaching the limit pauses sign-in for the
# cool-off time. A success clears the account's count. Records: the admin's "Axes" pages and
# each account's security page.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "delphi.views.accounts.lockout"
AXES_CLIENT_IP_CALLABLE = "lib.clientip.axes_client_ip"
# Reverse proxies in front of the site that append to X-Forwarded-For (compose: 1). 0 trusts
# no header and counts per REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Failed panelist-link exchanges per client address, and of one link from any client, within
# the window (delphi/services/throttle.py; each failure is listed in the admin's link failures).
LINK_FAILURE_LIMIT = 20
LINK_TOKEN_FAILURE_LIMIT = 5
LINK_FAILURE_WINDOW = 15 * 60

# Two-factor sign-in (django-otp, TOTP + recovery codes): optional per account unless required.
MFA_REQUIRED = env.bool("MFA_REQUIRED", default=False)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Delphi")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Form fields (not files) Django reads into memory. Above the CSV import limit (2 MB,
# lib/csvtable.py) so an over-long paste reaches the form and gets its message, with the text
# handed back; past this, delphi/views/errors.py explains instead of a bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: console by default; EMAIL_URL=smtp+tls://user:pass@host:587 in production.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
if EMAIL_CONFIG.get("EMAIL_BACKEND") == "django.core.mail.backends.console.EmailBackend":
    # The same console output, plus one line per message naming the panelist and their link.
    EMAIL_CONFIG["EMAIL_BACKEND"] = "delphi.mail.ConsoleBackend"
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Delphi study <delphi@localhost>")

# Celery. Without REDIS_URL every task runs in-process (eager), so a newcomer needs nothing
# but Python. With it, a real worker runs them.
REDIS_URL = env("REDIS_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True  # results live in our own tables (ConsensusRun)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # with acks_late, a killed child's job is requeued
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Recovery after a worker is killed (kill -9, OOM, a host restart), sized from measured run
# times: a full-size consensus run (2,000 panelists x 300 items, bench/consensus.py) takes
# ~4 s, its longest stage between heartbeats ~2 s; e-mail tasks send one message each.
# - A killed pool child: acks_late + reject_on_worker_lost requeue the job at once; the
#   redelivered task re-claims the run once its heartbeat is older than
#   CONSENSUS_RUN_STALE_SECONDS (30 s, delphi/consensus/services.py).
# - A killed whole worker: the message waits in Redis' unacked set for the visibility timeout,
#   then the next restore sweep (every 10 s with throttle 1) puts it back.
# So a run is finished once within ~60 + 10 + 4 s = 75 s of the kill, well inside 2 minutes
# (measured by tests/delphi/consensus/test_worker.py with these values).
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=60)
CELERY_UNACKED_RESTORE_THROTTLE = env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_throttle": CELERY_UNACKED_RESTORE_THROTTLE,
    "unacked_restore_interval": 10,
}
# Hard limit stays below the visibility timeout, or Redis redelivers a job still running
# (a second copy beside the first). 45 s is ten times a full-size run.
CELERY_TASK_TIME_LIMIT = min(
    env.int("CELERY_TASK_TIME_LIMIT", default=45), CELERY_VISIBILITY_TIMEOUT - 5
)
CELERY_TASK_SOFT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT - 10, 1)
# An SMTP server that hangs must not hold a task past its time limit.
EMAIL_TIMEOUT = 20
# One database sweep (delphi/services/sweeps.py): due reminders, messages to resume, rounds
# past their deadline. Static and idempotent, so no schedule lives in the database.
SWEEP_SECONDS = env.int("SWEEP_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "sweep-due": {
        "task": "delphi.tasks.sweep_due",
        "schedule": float(SWEEP_SECONDS),
    },
    # Chain the audit rows panelists' autosaves wrote since the last seal (audit_seal_due).
    "seal-audit-rows": {
        "task": "delphi.tasks.audit_seal_due",
        "schedule": 60.0,
    },
}
# Without a broker, `manage.py runserver` runs the same sweep in a thread every
# SWEEP_SECONDS (EMBEDDED_SWEEP=false turns it off).
EMBEDDED_SWEEP = env.bool("EMBEDDED_SWEEP", default=True)
# A round below quorum at its deadline stays open this much longer, once (0: close anyway).
ROUND_QUORUM_GRACE_HOURS = env.int("ROUND_QUORUM_GRACE_HOURS", default=24)

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

SESSION_COOKIE_AGE = 60 * 60 * 24 * 30  # a panelist resumes on the same device for a month
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    # security.W021 (HSTS preload) is silenced on purpose: submitting the domain to the
    # browsers' preload list is hard to undo and is the site owner's decision (docs/security.md).
    # With SECURE_HSTS_PRELOAD=true the header asks for it and the warning has nothing to say.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Panelist links: a capability token, not a login. Days it stays valid after it is issued,
# unless the study ends sooner.
PANELIST_TOKEN_DAYS = env.int("PANELIST_TOKEN_DAYS", default=120)

# Content-Security-Policy (django-csp 4): no inline script or style anywhere. Pages use one
# static JS file each and CSS classes; SVG data: URIs are Bootstrap's icons and the QR code of
# the two-factor set-up page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Panelist tokens are masked in every log line and error report (lib/logmask.py); gunicorn's
# access log is masked by lib.gunicorn_logging.MaskingLogger (docker/entrypoint.sh).
DEFAULT_EXCEPTION_REPORTER = "lib.logmask.MaskingExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_tokens": {"()": "lib.logmask.MaskTokensFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_tokens"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_tokens"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false", "mask_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Django's defaults are replaced, not added to: every handler these loggers reach masks.
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
