"""Newseval settings, all from environment variables.

With nothing configured this is the zero-setup first run: SQLite in ``var/`` and
background work in a thread of the web process. Real studies set ``DATABASE_URL``
(PostgreSQL) and ``CELERY_BROKER_URL`` (Redis), and ``DEBUG=False`` with a secret
key and allowed hosts.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=False")
    SECRET_KEY = "insecure-development-key-do-not-use-with-real-participants"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=False")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

VAR_DIR = Path(env_str("NEWSEVAL_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "studies",
    "webapp",
]

# Logins: django-axes counts failures per user name and address and locks both out for a
# while after AXES_FAILURE_LIMIT of them; every failure and lock-out is logged.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "webapp.clientip.client_address"  # the entry limit's address too

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "webapp.sessions.JudgeCookieMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its own response.
    "axes.middleware.AxesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "webapp.middleware.DashboardNotFoundMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "webapp" / "templates"],
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

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "newseval.sqlite3",
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Researchers: sessions in the database (logout ends them), saved on every request so that
# SESSION_COOKIE_AGE is an idle timeout. Judges: a signed cookie holding only opaque keys
# (webapp/sessions.py), so serving a judge reads no session row and never waits on Redis.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_SAVE_EVERY_REQUEST = True
NEWSEVAL_JUDGE_COOKIE_AGE = env_int("NEWSEVAL_JUDGE_COOKIE_AGE", 60 * 60 * 24 * 7)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
# English for the dashboard; judges' pages speak their study's `language` (studies/wording.py).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文"), ("es", "Español"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "webapp" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Uploaded files stream to temporary files on disk (never whole in memory) and stop at a
# cap; corpus files are the large ones.
FILE_UPLOAD_HANDLERS = [
    "webapp.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
NEWSEVAL_UPLOAD_MAX_BYTES = env_int("NEWSEVAL_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: with no broker configured, background work runs in a thread of this process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "studies.tasks.generation_*": {"queue": "generation"},
    "studies.tasks.detection_*": {"queue": "detection"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "reconcile-jobs": {"task": "studies.tasks.reconcile_jobs", "schedule": 60.0},
}

# Newseval's own settings.
# Judges' pseudonyms are HMACs of their platform ids under this salt. It is its own secret
# (not SECRET_KEY, which rotates and signs cookies): whoever holds it can match exported
# pseudonyms to platform ids, and changing it breaks the link between a study's exports.
NEWSEVAL_PSEUDONYM_SALT = env_str("NEWSEVAL_PSEUDONYM_SALT")
if not NEWSEVAL_PSEUDONYM_SALT:
    if not DEBUG:
        raise ImproperlyConfigured("NEWSEVAL_PSEUDONYM_SALT must be set when DEBUG=False")
    NEWSEVAL_PSEUDONYM_SALT = SECRET_KEY
# Entries per client address (see webapp/clientip.py) and study.
NEWSEVAL_ENTRY_RATE = env_str("NEWSEVAL_ENTRY_RATE", "20/m")
# A place is held this long for a judge who has not yet consented, then freed.
NEWSEVAL_UNCONSENTED_MINUTES = env_int("NEWSEVAL_UNCONSENTED_MINUTES", 5)
NEWSEVAL_JOB_STALE_SECONDS = env_int("NEWSEVAL_JOB_STALE_SECONDS", 300)
NEWSEVAL_GENERATION_THREADS = env_int("NEWSEVAL_GENERATION_THREADS", 0)
# Bootstrap replicates of the pre-launch tell audit (detectors.audit); each reruns the
# cross-validation. 0: no interval, so nothing is gated (the test suite's default).
NEWSEVAL_TELL_AUDIT_REPLICATES = env_int("NEWSEVAL_TELL_AUDIT_REPLICATES", 100)
# Serves /bench/baseline for bench/load.py; never turn it on in a real deployment.
NEWSEVAL_BENCH_BASELINE = env_bool("NEWSEVAL_BENCH_BASELINE", False)
NEWSEVAL_DEFAULT_CORPUS = env_str(
    "NEWSEVAL_DEFAULT_CORPUS", str(BASE_DIR.parent / "shared" / "data" / "news" / "articles.jsonl")
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
