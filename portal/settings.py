"""Pushport settings: every value comes from the environment (or an optional .env file).

Each variable is listed in the README with its default.
"""

import base64
import hashlib
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "portal",
    "sessions_app",
    "channels_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sessions_app.cors.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and in-process workers share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "space-list"
LOGOUT_REDIRECT_URL = "login"

# Uploaded credential files are small; anything bigger is not a key.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024


def _derived_key(purpose: str) -> str:
    """A key derived from SECRET_KEY, for development when no explicit key is set."""
    digest = hashlib.sha256(f"pushport:{purpose}:{SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


# Fernet keys for secrets at rest: the first encrypts, all decrypt (rotation).
PUSHPORT_ENCRYPTION_KEYS = env.list(
    "PUSHPORT_ENCRYPTION_KEYS", default=[_derived_key("field-encryption")]
)
# HMAC key that signs Pushport's own session tokens (never a space's shared secret).
PUSHPORT_SESSION_TOKEN_KEY = env.str(
    "PUSHPORT_SESSION_TOKEN_KEY", default=_derived_key("session-token")
)
PUSHPORT_SESSION_TOKEN_LIFETIME = env.int("PUSHPORT_SESSION_TOKEN_LIFETIME", default=24 * 3600)
PUSHPORT_AUTH_CHALLENGE_LIFETIME = env.int("PUSHPORT_AUTH_CHALLENGE_LIFETIME", default=300)
PUSHPORT_JWT_LEEWAY = env.int("PUSHPORT_JWT_LEEWAY", default=30)
PUSHPORT_ANON_TOKEN_RATE = env.str("PUSHPORT_ANON_TOKEN_RATE", default="30/min")
PUSHPORT_ANON_TOKEN_SPACE_RATE = env.str("PUSHPORT_ANON_TOKEN_SPACE_RATE", default="600/min")

# Delivery engine.
PUSHPORT_APNS_PRODUCTION_HOST = env.str(
    "PUSHPORT_APNS_PRODUCTION_HOST", default="api.push.apple.com:443"
)
PUSHPORT_APNS_SANDBOX_HOST = env.str(
    "PUSHPORT_APNS_SANDBOX_HOST", default="api.sandbox.push.apple.com:443"
)
PUSHPORT_FCM_BASE_URL = env.str("PUSHPORT_FCM_BASE_URL", default="https://fcm.googleapis.com")
# A PEM bundle of extra CAs to trust for provider hosts (private gateways, tests).
PUSHPORT_PROVIDER_CA_BUNDLE = env.str("PUSHPORT_PROVIDER_CA_BUNDLE", default="")
PUSHPORT_DELIVERY_CHUNK_SIZE = env.int("PUSHPORT_DELIVERY_CHUNK_SIZE", default=500)
PUSHPORT_DELIVERY_MAX_ATTEMPTS = env.int("PUSHPORT_DELIVERY_MAX_ATTEMPTS", default=5)
PUSHPORT_DELIVERY_LEASE_SECONDS = env.int("PUSHPORT_DELIVERY_LEASE_SECONDS", default=300)
PUSHPORT_RETRY_BASE_SECONDS = env.float("PUSHPORT_RETRY_BASE_SECONDS", default=2.0)
PUSHPORT_RETRY_MAX_SECONDS = env.float("PUSHPORT_RETRY_MAX_SECONDS", default=900.0)
# How long a queued chunk has to reach a worker before the sweeper queues its deliveries again.
PUSHPORT_DISPATCH_GRACE_SECONDS = env.float("PUSHPORT_DISPATCH_GRACE_SECONDS", default=60.0)
# How often the sweeper looks for due, expired or stranded deliveries (beat, or the embedded
# scheduler of a server without a broker).
PUSHPORT_SWEEP_INTERVAL_SECONDS = env.float("PUSHPORT_SWEEP_INTERVAL_SECONDS", default=2.0)
# Without a broker the web server runs the sweeper in a thread of its own.
PUSHPORT_EMBEDDED_SCHEDULER = env.bool("PUSHPORT_EMBEDDED_SCHEDULER", default=True)
PUSHPORT_BATCH_MAX_MESSAGES = env.int("PUSHPORT_BATCH_MAX_MESSAGES", default=1000)

# Celery: no broker means tasks run in process, eagerly. Celery still sets up a producer for
# eager tasks: the in-memory transport keeps it from looking for a broker on localhost.
_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not _BROKER_URL
CELERY_BROKER_URL = _BROKER_URL or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "sweep-deliveries": {
        "task": "channels_app.tasks.sweep",
        "schedule": PUSHPORT_SWEEP_INTERVAL_SECONDS,
    },
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "portal.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pushport API",
    "DESCRIPTION": "Session API (Comapi App Messaging compatible) and Server API.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

PUSHPORT_CREDENTIAL_WARNING_DAYS = env.int("PUSHPORT_CREDENTIAL_WARNING_DAYS", default=30)

# The superuser `manage.py bootstrap` creates when absent; without a password it generates one.
PUSHPORT_ADMIN_USERNAME = env.str("PUSHPORT_ADMIN_USERNAME", default="admin")
PUSHPORT_ADMIN_PASSWORD = env.str("PUSHPORT_ADMIN_PASSWORD", default="")
