"""Kehu CRM settings: one file, every value read from the environment.

Development defaults work out of the box. With DEBUG off, the development keys are
refused and every secret must come from the environment (README, "Production").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
import dj_email_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

# Development-only secrets. They are public (they live in this file), so a
# production start refuses them below.
DEV_SECRET_KEY = "dev-only-kehu-secret-key-9f3c1e7a5b2d4068ae1f7c3b5d9e0a2c4f6b8d0e1a3c5e7"
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHkta2VodS1maWVsZC1rZXktMDAwMDAwMDA="
DEV_BLIND_INDEX_KEY = "dev-only-kehu-blind-index-key"
DEV_BACKUP_KEY = "dev-only-kehu-backup-key-4e1b9c7a2d5f8036"


def env(name: str, default: str | None = None) -> str:
    """Read one environment value; fail with one sentence when it is required and missing."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ImproperlyConfigured(
            f"The environment variable {name} is not set; see README.md, section 'Production'."
        )
    return default


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, *, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, *, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env("SECRET_KEY", DEV_SECRET_KEY)
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", default=DEV_FIELD_ENCRYPTION_KEY)
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", DEV_BLIND_INDEX_KEY)
# Encrypts the backups (crm.backup); kept apart from the field keys, so a stolen
# backup and a stolen field key do not add up to the data.
BACKUP_KEY = env("BACKUP_KEY", DEV_BACKUP_KEY)
if len(BACKUP_KEY) < 32:
    raise ImproperlyConfigured(
        "BACKUP_KEY must be at least 32 characters; make one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
    )

for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key; make one with `python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        ) from None

if not DEBUG:
    _dev_values = {
        "SECRET_KEY": SECRET_KEY == DEV_SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS,
        "BLIND_INDEX_KEY": BLIND_INDEX_KEY == DEV_BLIND_INDEX_KEY,
        "BACKUP_KEY": BACKUP_KEY == DEV_BACKUP_KEY,
    }
    _refused = [name for name, is_dev in _dev_values.items() if is_dev]
    if _refused:
        raise ImproperlyConfigured(
            "DEBUG is off but "
            + ", ".join(_refused)
            + " still holds the development value; set a secret of your own "
            "(README.md, section 'Production')."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default="127.0.0.1,localhost" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DEBUG is off; set ALLOWED_HOSTS to the host names the site answers."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default="")

INSTALLED_APPS = [
    "crm.apps.CrmConfig",
    "customers",
    "sales",
    "interactions",
    "feedback",
    "segmentation",
    "dashboards",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "csp",
]

MIDDLEWARE = [
    "crm.middleware.HealthMiddleware",  # /healthz: before the host check and redirects
    "crm.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "crm.middleware.NulByteMiddleware",
    "crm.middleware.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "crm.middleware.LoginDeviceMiddleware",
    "crm.middleware.UserLanguageMiddleware",  # before the lifetime check: its message
    "crm.middleware.SessionLifetimeMiddleware",  # speaks the user's language
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "kehu.urls"
WSGI_APPLICATION = "kehu.wsgi.application"

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
                "crm.context_processors.shell",
            ],
        },
    },
]

# --- data stores -----------------------------------------------------------

DATABASE_URL = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kehu")
# A persistent connection belongs to the thread that opened it. A server with a
# fixed set of threads or processes (gunicorn, Celery) gains from keeping them; the
# development server starts a thread per browser connection, and kept connections
# piled up until PostgreSQL refused more (68 idle after 25 minutes of clicking).
# Under runserver each request closes its connection.
_RUNSERVER = len(sys.argv) > 1 and sys.argv[1] == "runserver"
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", default=0 if _RUNSERVER else 60)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL (postgres://…).")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = DB_CONN_MAX_AGE > 0
DATABASES["default"]["OPTIONS"] = {
    "connect_timeout": 5,
    # Who holds a connection, in pg_stat_activity.
    "application_name": env("DATABASE_APPLICATION_NAME", "kehu"),
}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", "test_kehu")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "kehu"),
        "OPTIONS": {"socket_connect_timeout": 3, "socket_timeout": 3},
    }
}

# --- people and sessions ---------------------------------------------------

AUTH_USER_MODEL = "crm.User"
AUTHENTICATION_BACKENDS = ["crm.auth.ThrottledModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "crm.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "crm.passwords.UsernameInPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_MINUTES", default=60) * 60

# Login throttle: a username + IP pair is locked after LOGIN_FAILURES_PER_PAIR
# failures within the cool-off; a username alone after LOGIN_FAILURES_PER_USER
# failures within an hour, whatever the IPs. Admins unlock in Django admin.
LOGIN_FAILURES_PER_PAIR = env_int("LOGIN_FAILURES_PER_PAIR", default=5)
LOGIN_FAILURES_PER_USER = env_int("LOGIN_FAILURES_PER_USER", default=20)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", default=30)
# A browser that signed in as the user before (a signed cookie, kept this many
# days) is not held by the per-user lock, so failures sent from elsewhere cannot
# keep the real user out; the per-address lock still holds it.
LOGIN_DEVICE_DAYS = env_int("LOGIN_DEVICE_DAYS", default=90)
# Password reset requests: per client address and per e-mail address, per hour.
PASSWORD_RESETS_PER_ADDRESS = env_int("PASSWORD_RESETS_PER_ADDRESS", default=10)
PASSWORD_RESETS_PER_ACCOUNT = env_int("PASSWORD_RESETS_PER_ACCOUNT", default=3)
# The public survey pages: how many answers and unknown links one address may
# send per hour before it is asked to wait.
SURVEY_HITS_PER_IP_HOUR = env_int("SURVEY_HITS_PER_IP_HOUR", default=30)
# The site's address as customers reach it, for links in e-mails (survey
# invitations); empty: the address the sending user had in the browser.
SITE_URL = env("SITE_URL", "")
# How many proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", default=0)

SESSION_ENGINE = "crm.sessions"  # PostgreSQL, with Redis as an optional copy
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", default=30)
SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# crm.middleware.SessionLifetimeMiddleware pushes the idle deadline back (once a minute).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- security --------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env_bool("BEHIND_HTTPS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if not SECURE_SSL_REDIRECT:
        # The proxy redirects plain HTTP (deploy/nginx/kehu.conf), so the deployment
        # check's warning about SECURE_SSL_REDIRECT does not apply.
        SILENCED_SYSTEM_CHECKS = ["security.W008"]

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
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- i18n and time ---------------------------------------------------------

LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured("LANGUAGE_CODE must be zh-hans or en.")
LOCALE_PATHS = [BASE_DIR / "locale"]
# Anonymous visitors get LANGUAGE_CODE unless they chose otherwise; set this to
# follow the browser's Accept-Language instead.
LANGUAGE_FROM_BROWSER = env_bool("LANGUAGE_FROM_BROWSER", default=False)
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- static files ----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
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

# --- e-mail ----------------------------------------------------------------

EMAIL_URL = env("EMAIL_URL", "console://" if DEBUG else "smtp://localhost:25")
globals().update(dj_email_url.parse(EMAIL_URL))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Kehu CRM <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ----------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 3,
    # A task a killed worker took but never finished (acks_late) goes back to the
    # queue after this long: longer than the longest job (crm.tasks: one hour).
    "visibility_timeout": int(env("CELERY_VISIBILITY_TIMEOUT", str(2 * 60 * 60))),
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# A task whose worker process dies (SIGKILL, the OOM killer) goes back to the queue
# rather than being acknowledged as failed: every task is safe to run again (an
# import that finished, an invitation already e-mailed are left alone).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "kehu")
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TIMEZONE = TIME_ZONE
# django-celery-beat's DatabaseScheduler, stamping beat's heartbeat for /healthz.
CELERY_BEAT_SCHEDULER = "crm.beat:Scheduler"

# --- UI --------------------------------------------------------------------

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Logs go to standard error (journald, honcho), one JSON object per line in
# production (crm.logs: time, level, logger, message, the request's id), plain
# text for a developer's terminal.
LOG_FORMAT = env("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "crm.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "crm.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
# Celery keeps this logging (and its JSON) instead of installing its own; a
# task's lines carry the task's id as their request id (crm.signals).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
DEFAULT_EXCEPTION_REPORTER = "crm.errors.KehuExceptionReporter"
# In development WhiteNoise serves straight from the app folders; production runs
# `collectstatic` (README, "Production").
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- imports and exports ---------------------------------------------------

# Uploads: size, rows, and the zip-bomb guards checked from the zip directory.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_BYTES", default=512 * 1024 * 1024)
IMPORT_MAX_ZIP_ENTRIES = env_int("IMPORT_MAX_ZIP_ENTRIES", default=1_000)
IMPORT_MAX_ZIP_RATIO = env_int("IMPORT_MAX_ZIP_RATIO", default=200)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Signed contracts and other private files: outside the static and media folders,
# served only through views that check who may see them (never by the web server).
PRIVATE_FILES_ROOT = Path(os.environ.get("PRIVATE_FILES_ROOT", BASE_DIR / "private"))
CONTRACT_FILE_MAX_BYTES = env_int("CONTRACT_FILE_MAX_BYTES", default=20 * 1024 * 1024)

# --- backups ---------------------------------------------------------------

# `manage.py backup` and the daily `backup` job (crm.backup) write the database
# and the private files here, encrypted with BACKUP_KEY, and keep the newest of
# each of the last days, ISO weeks and months (docs/operations.md, "Backups").
BACKUP_DIR = Path(env("BACKUP_DIR", str(BASE_DIR / "backups")))
BACKUP_KEEP_DAILY = env_int("BACKUP_KEEP_DAILY", default=7)
BACKUP_KEEP_WEEKLY = env_int("BACKUP_KEEP_WEEKLY", default=4)
BACKUP_KEEP_MONTHLY = env_int("BACKUP_KEEP_MONTHLY", default=12)
