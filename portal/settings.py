"""Pushport settings: every value comes from the environment (or an optional .env file).

Each variable is listed in the README with its default.
"""

import base64
import datetime as dt
import hashlib
import sqlite3
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# Public, so anything derived from it is public too: refused when DEBUG is false (see below).
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS: on by default once DEBUG is false; each one can be turned off for a setup that needs it.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and Prometheus probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = env.bool("SESSION_COOKIE_HTTPONLY", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Preloading is a promise to browsers that is slow to take back: the operator opts in.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# "HTTP_X_FORWARDED_PROTO,https" behind a TLS proxy that sets (and strips) that header. Unset,
# no header is trusted: a client could otherwise claim HTTPS on a plain connection.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER must be a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https"
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None

INSTALLED_APPS = [
    # First, so runserver serves the ASGI application (HTTP and App Messaging's socket). Only
    # runserver needs it: in production daphne is its own command, and the other processes
    # (gunicorn's workers, Celery's) are spared loading Twisted, about 10 MB each.
    *(["daphne"] if DEBUG else []),
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "portal",
    "sessions_app",
    "channels_app",
]

MIDDLEWARE = [
    # Outermost: it lets go of an API request's objects once everything else is done.
    "portal.collector.ReleaseApiObjects",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sessions_app.cors.CorsMiddleware",
    # Inside CORS, so API errors it renders as JSON still carry the CORS headers.
    "portal.errors.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the statement, adapted by psycopg's C code, instead of
    # being quoted into its text in Python: 10% less server CPU per notification sent.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("server_side_binding", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if sqlite3.sqlite_version_info < (3, 33):
        # The engine writes results with UPDATE ... FROM (channels_app/rows.py).
        raise ImproperlyConfigured(
            f"Pushport needs SQLite 3.33 or newer; this Python has {sqlite3.sqlite_version}. "
            "Use a Python built with a newer SQLite, or PostgreSQL (DATABASE_URL)."
        )
    # WAL and a busy timeout let the web process and in-process workers share the file.
    # IMMEDIATE: a transaction takes the write lock when it begins, waiting up to `timeout`
    # for it; a deferred one that reads first and then writes cannot wait (SQLite would
    # deadlock) and fails at once with "database is locked" when another writer is busy.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
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

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username and IP never reach the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in throttling (portal and admin): a username from one IP is locked out after a few
# failures, for the cool-off time; the lockout page answers 429 with Retry-After.
AXES_FAILURE_LIMIT = env.int("PUSHPORT_SIGNIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(seconds=env.int("PUSHPORT_SIGNIN_LOCKOUT_SECONDS", default=900))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.signin.lockout_response"
# The same client IP as the API throttles: REMOTE_ADDR unless trusted proxies are configured.
AXES_CLIENT_IP_CALLABLE = "sessions_app.throttles.client_ip"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "space-list"
LOGOUT_REDIRECT_URL = "login"

# Invitations (portal/invitations.py) go by e-mail; the console backend prints them to the
# server's output, so a fresh install can invite without a mail server.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Pushport <pushport@localhost>")
# How long an invitation's set-password link stays valid (Django's reset-token lifetime).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

# Uploaded credential files are small; anything bigger is not a key.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024


def _derived_key(purpose: str, secret_key: str = SECRET_KEY) -> str:
    """A key derived from SECRET_KEY, for development when no explicit key is set."""
    digest = hashlib.sha256(f"pushport:{purpose}:{secret_key}".encode()).digest()
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
# sessions/start writes a challenge row per call: bounded per client IP and per space.
PUSHPORT_SESSION_START_RATE = env.str("PUSHPORT_SESSION_START_RATE", default="60/min")
PUSHPORT_SESSION_START_SPACE_RATE = env.str("PUSHPORT_SESSION_START_SPACE_RATE", default="6000/min")


def _refuse_development_secrets() -> None:
    """Refuse to start with DEBUG false while a secret is unset or a public development value.

    The development SECRET_KEY is in this file, so it and every key derived from it are known
    to anyone: a session token signed with it would open a live session. A key derived from a
    real SECRET_KEY is refused too (unset): one leaked value must not give away the others.
    """
    development = {
        "SECRET_KEY": DEVELOPMENT_SECRET_KEY,
        "PUSHPORT_ENCRYPTION_KEYS": _derived_key("field-encryption", DEVELOPMENT_SECRET_KEY),
        "PUSHPORT_SESSION_TOKEN_KEY": _derived_key("session-token", DEVELOPMENT_SECRET_KEY),
    }
    for name, public_value in development.items():
        # PUSHPORT_ENCRYPTION_KEYS is a list: every key in it counts.
        values = [value.strip() for value in env.str(name, default="").split(",")]
        if name != "PUSHPORT_ENCRYPTION_KEYS":
            values = [",".join(values)]
        if not all(values) or public_value in values:
            raise ImproperlyConfigured(
                f"{name} must be set to a secret of your own when DEBUG is false "
                "(it is unset or a public development value); see the README's Production guide."
            )


if not DEBUG:
    _refuse_development_secrets()

# Delivery engine.
PUSHPORT_APNS_PRODUCTION_HOST = env.str(
    "PUSHPORT_APNS_PRODUCTION_HOST", default="api.push.apple.com:443"
)
PUSHPORT_APNS_SANDBOX_HOST = env.str(
    "PUSHPORT_APNS_SANDBOX_HOST", default="api.sandbox.push.apple.com:443"
)
PUSHPORT_FCM_BASE_URL = env.str("PUSHPORT_FCM_BASE_URL", default="https://fcm.googleapis.com")
# The outbound-host policy (portal/outbound.py): token endpoints a service account may name
# besides Google's, and APNs endpoint overrides a space may set besides the APNs hosts above.
PUSHPORT_FCM_TOKEN_URIS = env.list("PUSHPORT_FCM_TOKEN_URIS", default=[])
PUSHPORT_APNS_ENDPOINT_ALLOWLIST = env.list("PUSHPORT_APNS_ENDPOINT_ALLOWLIST", default=[])
# A PEM bundle of extra CAs to trust for provider hosts (private gateways, tests).
PUSHPORT_PROVIDER_CA_BUNDLE = env.str("PUSHPORT_PROVIDER_CA_BUNDLE", default="")
PUSHPORT_DELIVERY_CHUNK_SIZE = env.int("PUSHPORT_DELIVERY_CHUNK_SIZE", default=500)
PUSHPORT_DELIVERY_MAX_ATTEMPTS = env.int("PUSHPORT_DELIVERY_MAX_ATTEMPTS", default=5)
PUSHPORT_DELIVERY_LEASE_SECONDS = env.float("PUSHPORT_DELIVERY_LEASE_SECONDS", default=300.0)
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

# Event webhooks (channels_app/webhooks.py). Hosts or networks (CIDR) a webhook URL may reach
# although they resolve to loopback, link-local or private addresses; listed hosts may use http.
PUSHPORT_WEBHOOK_ALLOWED_HOSTS = env.list("PUSHPORT_WEBHOOK_ALLOWED_HOSTS", default=[])
PUSHPORT_WEBHOOK_TIMEOUT_SECONDS = env.float("PUSHPORT_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
PUSHPORT_WEBHOOK_MAX_ATTEMPTS = env.int("PUSHPORT_WEBHOOK_MAX_ATTEMPTS", default=8)
PUSHPORT_WEBHOOK_RETRY_BASE_SECONDS = env.float("PUSHPORT_WEBHOOK_RETRY_BASE_SECONDS", default=10.0)
PUSHPORT_WEBHOOK_RETRY_MAX_SECONDS = env.float("PUSHPORT_WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
PUSHPORT_WEBHOOK_INTERVAL_SECONDS = env.float("PUSHPORT_WEBHOOK_INTERVAL_SECONDS", default=2.0)
# Finished webhook calls (delivered or failed) are deleted once this old; the portal shows the
# recent ones.
PUSHPORT_WEBHOOK_CALLS_KEPT_DAYS = env.float("PUSHPORT_WEBHOOK_CALLS_KEPT_DAYS", default=30.0)
PUSHPORT_WEBHOOK_PRUNE_INTERVAL_SECONDS = env.float(
    "PUSHPORT_WEBHOOK_PRUNE_INTERVAL_SECONDS", default=3600.0
)
# A PEM bundle that replaces the system CAs for webhook receivers (receivers on a private CA).
PUSHPORT_WEBHOOK_CA_BUNDLE = env.str("PUSHPORT_WEBHOOK_CA_BUNDLE", default="")

# App Messaging's sockets. Without a URL, events reach the sockets of the process that
# published them (in-memory layer: one ASGI process, as runserver or a single daphne). With
# several processes, or a worker that publishes, they need a shared layer: redis://host:6379/1.
PUSHPORT_CHANNEL_LAYER_URL = env.str("PUSHPORT_CHANNEL_LAYER_URL", default="")
if PUSHPORT_CHANNEL_LAYER_URL:
    # Redis pub/sub: a frame is published once per profile group and pushed to the process
    # holding its sockets. The list-based layer (channels_redis.core) made every socket of a
    # process poll one shared Redis list a frame at a time: measured with bench/app_messaging.py
    # (2,000 sockets, 100 participants, two processes) it reached 12 messages/s and dropped a
    # quarter to half of the frames; pub/sub delivers every one at 29 messages/s. A socket that
    # was away gets what it missed from the history, as the SDK does on reconnecting.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": PUSHPORT_CHANNEL_LAYER_URL,
                        # redis-py 8 reads for at most 5 s and caps a pool at 100 connections,
                        # which a thousand sockets closing at once exceeded; channels_redis
                        # expects redis-py's old unbounded pool.
                        "socket_timeout": 30,
                        "max_connections": 2**31,
                    }
                ],
            },
        }
    }
else:
    # Channels' in-memory layer, with its expiry sweep once a second instead of on every frame;
    # a socket may hold 10,000 frames (not 100) before new ones are dropped.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_app.messaging.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000},
        }
    }

# App Messaging content (POST /content): files go through Django's storage API, one folder
# per space. The filesystem by default; any storage backend by its dotted path, e.g.
# "storages.backends.s3.S3Storage" (django-storages, with boto3 installed) and its options
# as JSON: {"bucket_name": "pushport-content", "region_name": "eu-west-1"}.
PUSHPORT_CONTENT_ROOT = env.str("PUSHPORT_CONTENT_ROOT", default=str(BASE_DIR / "content"))
PUSHPORT_CONTENT_STORAGE = env.str(
    "PUSHPORT_CONTENT_STORAGE", default="django.core.files.storage.FileSystemStorage"
)
PUSHPORT_CONTENT_STORAGE_OPTIONS = env.json("PUSHPORT_CONTENT_STORAGE_OPTIONS", default={})
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "content": {
        "BACKEND": PUSHPORT_CONTENT_STORAGE,
        "OPTIONS": PUSHPORT_CONTENT_STORAGE_OPTIONS
        or (
            {"location": PUSHPORT_CONTENT_ROOT}
            if PUSHPORT_CONTENT_STORAGE.endswith("FileSystemStorage")
            else {}
        ),
    },
}
PUSHPORT_CONTENT_MAX_BYTES = env.int("PUSHPORT_CONTENT_MAX_BYTES", default=10 * 1024 * 1024)
# Checked against the type the file's first bytes show, not the one the client names.
PUSHPORT_CONTENT_TYPES = env.list(
    "PUSHPORT_CONTENT_TYPES",
    default=[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/heic",
        "application/pdf",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "audio/wav",
        "video/mp4",
        "video/quicktime",
        "video/webm",
        "text/plain",
    ],
)
# How long an uploaded file's signed URL works (recipients fetch it from a message part).
PUSHPORT_CONTENT_URL_MAX_AGE = env.int("PUSHPORT_CONTENT_URL_MAX_AGE", default=30 * 24 * 3600)

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
    # Starts scheduled campaigns, resumes interrupted live sends, marks finished ones sent.
    "run-campaigns": {
        "task": "channels_app.campaign_tasks.run_campaigns",
        "schedule": PUSHPORT_SWEEP_INTERVAL_SECONDS,
    },
    "deliver-webhooks": {
        "task": "channels_app.webhook_tasks.deliver_webhooks",
        "schedule": PUSHPORT_WEBHOOK_INTERVAL_SECONDS,
    },
    "send-bounces": {
        "task": "channels_app.bounce_tasks.send_bounces",
        "schedule": PUSHPORT_WEBHOOK_INTERVAL_SECONDS,
    },
    "prune-webhook-calls": {
        "task": "channels_app.webhook_tasks.prune_webhook_calls",
        "schedule": PUSHPORT_WEBHOOK_PRUNE_INTERVAL_SECONDS,
    },
    "prune-bounces": {
        "task": "channels_app.bounce_tasks.prune_bounces",
        "schedule": PUSHPORT_WEBHOOK_PRUNE_INTERVAL_SECONDS,
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
    # Proxies in front of the server that append to X-Forwarded-For: the client IP that
    # throttles and sign-in lockouts count is the one the outermost trusted proxy saw.
    "NUM_PROXIES": env.int("PUSHPORT_TRUSTED_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pushport API",
    "DESCRIPTION": "Session API (Comapi App Messaging compatible) and Server API.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # /api/docs/ serves Redoc from our own static files: it works offline and loads no CDN.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request's full URL at INFO; a webhook URL's query may hold the
    # receiver's own credentials. Pushport logs what it sends itself (host only).
    "loggers": {"httpx": {"level": "WARNING"}},
}

# /metrics answers only a request with `Authorization: Bearer <this token>`; unset, it is a 404.
PUSHPORT_METRICS_TOKEN = env.str("PUSHPORT_METRICS_TOKEN", default="")
# A directory every process of a deployment shares: counters are then summed over processes.
# prometheus_client reads the variable itself when it is imported; this copy tells /metrics.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

PUSHPORT_CREDENTIAL_WARNING_DAYS = env.int("PUSHPORT_CREDENTIAL_WARNING_DAYS", default=30)

# Momentum MCMT over SMTP (manage.py mcmt_listener): where it listens, and the certificate
# that turns on STARTTLS (then required before AUTH).
PUSHPORT_MCMT_HOST = env.str("PUSHPORT_MCMT_HOST", default="127.0.0.1")
PUSHPORT_MCMT_PORT = env.int("PUSHPORT_MCMT_PORT", default=2525)
PUSHPORT_MCMT_TLS_CERT = env.str("PUSHPORT_MCMT_TLS_CERT", default="")
PUSHPORT_MCMT_TLS_KEY = env.str("PUSHPORT_MCMT_TLS_KEY", default="")
# The SMTP relay (host:port) that carries bounces (DSNs) of failed injected deliveries to their
# Return-Path; empty: no DSN is sent, failures go to webhooks only.
PUSHPORT_MCMT_BOUNCE_RELAY = env.str("PUSHPORT_MCMT_BOUNCE_RELAY", default="")
PUSHPORT_MCMT_BOUNCE_USER = env.str("PUSHPORT_MCMT_BOUNCE_USER", default="")
PUSHPORT_MCMT_BOUNCE_PASSWORD = env.str("PUSHPORT_MCMT_BOUNCE_PASSWORD", default="")
# none, starttls, or tls (implicit TLS, as on port 465).
PUSHPORT_MCMT_BOUNCE_TLS = env.str("PUSHPORT_MCMT_BOUNCE_TLS", default="none")
PUSHPORT_MCMT_BOUNCE_FROM = env.str("PUSHPORT_MCMT_BOUNCE_FROM", default="mailer-daemon@localhost")
PUSHPORT_MCMT_BOUNCE_MAX_ATTEMPTS = env.int("PUSHPORT_MCMT_BOUNCE_MAX_ATTEMPTS", default=5)
PUSHPORT_MCMT_BOUNCES_KEPT_DAYS = env.float("PUSHPORT_MCMT_BOUNCES_KEPT_DAYS", default=30.0)

# The superuser `manage.py bootstrap` creates when absent; without a password it generates one.
PUSHPORT_ADMIN_USERNAME = env.str("PUSHPORT_ADMIN_USERNAME", default="admin")
PUSHPORT_ADMIN_PASSWORD = env.str("PUSHPORT_ADMIN_PASSWORD", default="")
