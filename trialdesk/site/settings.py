"""All deployment settings, read from the environment; bad values fail loudly at start-up.

Study design never lives here: that is the protocol file's job.

Environment:
  DATABASE_URL            sqlite:///path or postgres://user@host:port/db (default: SQLite in the data dir)
  TRIALDESK_SECRET_KEY    Django secret key (default: read from <data dir>/secret_key, made by `trialdesk init`)
  TRIALDESK_PII_KEY       Fernet key that encrypts identifying data (default: <data dir>/pii_key)
  TRIALDESK_AUDIT_KEY     key of the audit trail's HMAC chain (default: <data dir>/audit_key);
                          keep it out of the database and its backups (docs/security/audit.md)
  TRIALDESK_OWNER_DATABASE_URL  the table owner's URL, used only by `trialdesk migrate`/`init`
                          when DATABASE_URL is the least-privileged application role
  TRIALDESK_AUDIT_ANCHOR_FILE   where `trialdesk tick` appends the audit chain's head
  TRIALDESK_DEBUG         "1" to turn DEBUG on (off by default)
  TRIALDESK_ALLOWED_HOSTS comma-separated host names (default: 127.0.0.1,localhost)
  TRIALDESK_PROTOCOL      path of the protocol file (default: protocols/nct07183384.yaml)
  TRIALDESK_DATA_DIR      the data directory (default: ./data)
  TRIALDESK_RANDOMIZATION_TEST_SEEDS  "1" for the reproducible-test mode: a typed seed may make a
                          test list, and such a list may allocate (off by default; never in a live study,
                          see docs/security/randomization.md)
  TRIALDESK_SECURE_COOKIES "1": session/CSRF cookies always Secure (they are anyway on HTTPS requests)
  TRIALDESK_PROXY_SSL_HEADER  header a trusted reverse proxy sets to "https" (e.g. X-Forwarded-Proto);
                          set it ONLY behind a proxy that overwrites that header (docs/security/accounts.md)
  TRIALDESK_HSTS_SECONDS  Strict-Transport-Security max-age on HTTPS responses (default 0: off)
  TRIALDESK_SESSION_IDLE_SECONDS  log out after this long without a request (default 1800)
  TRIALDESK_SESSION_SECONDS       absolute session maximum after login (default 28800 = 8 h)
  TRIALDESK_RESET_LINK_SECONDS    lifetime of a one-time set-password link (default 86400)
"""

from __future__ import annotations

import os
import zoneinfo
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from trialdesk.paths import DEFAULT_PROTOCOL, data_dir

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def _secret(env_name: str, file_name: str) -> str:
    value = os.environ.get(env_name)
    if value:
        return value
    path = DATA_DIR / file_name
    if path.exists():
        return path.read_text().strip()
    raise ImproperlyConfigured(
        f"{env_name} is not set and {path} does not exist: run `trialdesk init` or set {env_name}"
    )


def _database() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'trialdesk.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=0)
    except Exception as exc:  # the library raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} is not a database URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Wait on a locked database instead of failing; IMMEDIATE makes writers queue up front.
        # 60 s: a queue of simultaneous saves on a busy 2-core machine must wait, not fail.
        config["OPTIONS"] = {"timeout": 60, "transaction_mode": "IMMEDIATE"}
    config.setdefault("TEST", {})
    return config


DEBUG = _flag("TRIALDESK_DEBUG")
SECRET_KEY = _secret("TRIALDESK_SECRET_KEY", "secret_key")
PII_KEY = _secret("TRIALDESK_PII_KEY", "pii_key")
AUDIT_KEY = _secret("TRIALDESK_AUDIT_KEY", "audit_key")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("TRIALDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
PROTOCOL_PATH = Path(os.environ.get("TRIALDESK_PROTOCOL", DEFAULT_PROTOCOL))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "csp",
    "django_filters",
    "django_tables2",
    "trialdesk.accounts",
    "trialdesk.audit",
    "trialdesk.studies",
    "trialdesk.participants",
    "trialdesk.visits",
    "trialdesk.crfs",
    "trialdesk.enrolment",
    "trialdesk.randomization",
    "trialdesk.safety",
    "trialdesk.dsmb",
    "trialdesk.analyses",
    "trialdesk.outreach",
    "trialdesk.portal",
    "trialdesk.desk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "trialdesk.site.middleware.SecureCookiesOverHttps",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "trialdesk.site.middleware.SessionTimeout",
    "trialdesk.site.middleware.StudyFromURL",  # request.study, its URLconf, access in it
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "trialdesk.site.input_limits.InputLimitsMiddleware",  # free-text limits (core.text)
]

ROOT_URLCONF = "trialdesk.site.urls"
WSGI_APPLICATION = "trialdesk.site.wsgi.application"

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
                "trialdesk.accounts.context.membership",
                "trialdesk.desk.nav.nav",  # the menu, by the roles each page lets in
            ],
        },
    },
]

DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Argon2id first: the strongest hasher Django ships; older hashes upgrade on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "my-studies"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout (django-axes): 5 failures per user+IP lock for 30 minutes. Password re-entry at a
# signature, an unblinding decision or a role approval counts here too (accounts/reauth.py).
AXES_FAILURE_LIMIT = int(os.environ.get("TRIALDESK_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = 0.5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Lockouts are not editable in Django's admin: a superuser must not clear the lockout that
# password re-entry at signing or unblinding triggered (21 CFR 11.300(d)); they expire.
AXES_ENABLE_ADMIN = False


def _seconds(name: str, default: int, minimum: int = 60) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or int(raw) < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected whole seconds >= {minimum}")
    return int(raw)


SESSION_COOKIE_HTTPONLY = True
# The cookie lives as long as the absolute maximum; SessionTimeout (trialdesk/site/middleware.py)
# logs out after SESSION_IDLE_SECONDS without a request and SESSION_MAX_SECONDS after login.
SESSION_MAX_SECONDS = _seconds("TRIALDESK_SESSION_SECONDS", 8 * 3600)
SESSION_IDLE_SECONDS = min(_seconds("TRIALDESK_SESSION_IDLE_SECONDS", 30 * 60), SESSION_MAX_SECONDS)
SESSION_COOKIE_AGE = SESSION_MAX_SECONDS
SESSION_COOKIE_SAMESITE = "Lax"
# Always Secure when forced; otherwise SecureCookiesOverHttps marks them Secure on every HTTPS
# response (request.is_secure(), which trusts SECURE_PROXY_SSL_HEADER when one is configured).
SESSION_COOKIE_SECURE = _flag("TRIALDESK_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
_proxy_header = os.environ.get("TRIALDESK_PROXY_SSL_HEADER", "").strip()
if _proxy_header:
    if not all(c.isalnum() or c == "-" for c in _proxy_header):
        raise ImproperlyConfigured(
            f"TRIALDESK_PROXY_SSL_HEADER={_proxy_header!r}: expected a header name such as "
            "X-Forwarded-Proto"
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SECURE_HSTS_SECONDS = _seconds("TRIALDESK_HSTS_SECONDS", 0, minimum=0)
# One-time links to set a password (accounts.actions.do_send_password_reset) expire after this.
PASSWORD_RESET_TIMEOUT = _seconds("TRIALDESK_RESET_LINK_SECONDS", 24 * 3600)
X_FRAME_OPTIONS = "DENY"

# Reproducible-test mode of the randomization list (docs/security/randomization.md).
RANDOMIZATION_TEST_SEEDS = _flag("TRIALDESK_RANDOMIZATION_TEST_SEEDS")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, no
# inline script, no inline style, no eval (docs/security/accounts.md). htmx's own indicator
# <style> is switched off by a meta tag in base.html and its CSS ships in site.css.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("id", "Bahasa Indonesia")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True


def _time_zone() -> str:
    """The deployment's IANA time zone (docs/time.md); a site may name its own in the protocol."""
    name = os.environ.get("TRIALDESK_TIME_ZONE", "Asia/Jakarta")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"TRIALDESK_TIME_ZONE={name!r}: expected an IANA time zone name such as "
            "Asia/Jakarta, Asia/Makassar or UTC"
        ) from None
    return name


TIME_ZONE = _time_zone()
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Served by WhiteNoise straight from the apps' static folders (no collectstatic step needed).
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = os.environ.get(
    "TRIALDESK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("TRIALDESK_FROM_EMAIL", "trialdesk@localhost")
#: The address people reach this deployment at, for links in e-mails (docs/outreach.md).
PUBLIC_URL = os.environ.get("TRIALDESK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
#: Public forms (trialdesk.outreach.abuse): (posts, seconds) per IP address and per e-mail
#: address, per form; the largest request body accepted.
PUBLIC_RATE_LIMIT_IP = (5, 600)
PUBLIC_RATE_LIMIT_ADDRESS = (3, 86400)
PUBLIC_POST_MAX_BYTES = 16 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TRIALDESK_LOG_LEVEL", "WARNING")},
}
