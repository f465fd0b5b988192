"""OpenModelHub settings, driven by environment variables.

With no variables set the hub runs embedded: SQLite under var/, Celery tasks run eagerly in
process, files under var/media/, local-memory cache, and development secrets generated under var/.
See README.md ("Configuration") for every variable.
"""

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(os.environ.get("OMH_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _development_secret(filename: str) -> str:
    """A secret kept under var/ so that restarts of the embedded hub keep sessions valid."""
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
        print(f"OpenModelHub: generated a development secret in {path}", file=sys.stderr)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _development_secret("secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "licensing",
    "catalog",
    "insights",
    "agent",
    "hfhub",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "openmodelhub.middleware.ApiJsonErrorsMiddleware",  # no HTML error page under /api/ (before Common)
    "openmodelhub.middleware.RefuseNulBytesMiddleware",  # NUL in a URL: 404 (path) or 400 (query)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "openmodelhub.security.SecurityHeadersMiddleware",  # Content-Security-Policy (UI)
]

ROOT_URLCONF = "openmodelhub.urls"
WSGI_APPLICATION = "openmodelhub.wsgi.application"

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
                "openmodelhub.context_processors.hub",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
# Each worker thread keeps its connection across requests (opening one costs more than most requests'
# queries; bench/README.md, "HTTP"): README's gunicorn runs 2 workers x 4 threads, one connection per
# thread, so a pool would hold as many. Health checks replace a connection the server closed before reuse.
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 600)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Set as the connection opens rather than per statement: pg_trgm's threshold for the fuzzy id candidates
        # of a search (catalog.search._postgres_fuzzy_rows: its default, 0.6, misses one-edit typos); no JIT,
        # which compiled for 40 ms a search's 60 ms statement whose estimate counted branches that never run
        # (bench/README.md, "Search"): every statement here is a bounded read of indexes.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        settings_ = "-c pg_trgm.word_similarity_threshold=0.3 -c jit=off"
        options["options"] = f"{options.get('options', '')} {settings_}".strip()
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "CONN_MAX_AGE": DB_CONN_MAX_AGE,
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                # WAL: readers never wait for the writer; NORMAL: no fsync per commit (durable at checkpoints,
                # never corrupt); the file mapped into memory (256 MiB) and a 64 MiB page cache per connection.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA mmap_size=268435456; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
# Cache keys are prefixed with this: hubs (or parallel test workers) sharing one Redis database keep apart.
CACHE_KEY_PREFIX = env_str("OMH_CACHE_KEY_PREFIX", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "openmodelhub.cache.RedisCache",  # Django's, reusing its redis-py clients
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The response cache of the hot API GETs (catalog.response_cache): on by default only with a cache every
# process shares (Redis); a per-process cache under several workers would serve answers another worker's
# write retired. Every committed write retires every entry; RESPONSE_CACHE_SECONDS bounds an entry's age
# against writes the hub cannot see (SQL run outside it).
RESPONSE_CACHE = env_bool("OMH_RESPONSE_CACHE", bool(REDIS_URL))
RESPONSE_CACHE_SECONDS = env_int("RESPONSE_CACHE_SECONDS", 300)

# memory:// needs a host name, or kombu warns "No hostname was supplied" on every command.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 20)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
# How many reverse proxies stand in front of the hub (0: none, X-Forwarded-For is ignored). One
# setting for the log-in lock-out, the audit trail's addresses and DRF's throttles (openmodelhub.network).
OMH_NUM_PROXIES = env_int("OMH_NUM_PROXIES", 0)
# A request never writes to the database to authenticate: a token's last_used_at moves on at most once per
# this many seconds (the token list and the admin show it to that precision), and sessions are read from
# the cache (written through to the database only when they change: log-in, log-out, messages).
OMH_TOKEN_LAST_USED_SECONDS = env_int("OMH_TOKEN_LAST_USED_SECONDS", 300)
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


def _secret_from_file(name: str) -> str:
    path = os.environ.get(name, "")
    return Path(path).read_text().strip() if path else ""


# Audit checkpoints (accounts.checkpoints): the signing key must not live in the database, nor on its host.
OMH_AUDIT_CHECKPOINT_KEY = (
    os.environ.get("OMH_AUDIT_CHECKPOINT_KEY")
    or _secret_from_file("OMH_AUDIT_CHECKPOINT_KEY_FILE")
    or _development_secret("audit_checkpoint_key")
)
OMH_AUDIT_CHECKPOINT_DIR = env_str("OMH_AUDIT_CHECKPOINT_DIR", "")  # empty: default storage, audit-checkpoints/
OMH_AUDIT_CHECKPOINT_SECONDS = env_float("OMH_AUDIT_CHECKPOINT_SECONDS", 300.0)

# --- E-mail (invitations, password resets) --------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "OpenModelHub <hub@localhost>")

# --- Files ----------------------------------------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"  # files are only ever served through permission-checked views
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads are streamed to disk by Django (never held in memory) under the staging folder, then
# hashed, encrypted and stored by the pipeline. With workers on other hosts the staging folder
# must be shared storage (for example an NFS mount) visible to the web and worker processes.
OMH_STAGING_DIR = Path(os.environ.get("OMH_STAGING_DIR", VAR_DIR / "staging"))
OMH_STAGING_DIR.mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_TEMP_DIR = str(OMH_STAGING_DIR)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_HANDLERS = [
    "catalog.files.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
OMH_MAX_UPLOAD_BYTES = env_int("OMH_MAX_UPLOAD_BYTES", 20 * 1024**3)
OMH_ENCRYPTION_CHUNK_SIZE = env_int("OMH_ENCRYPTION_CHUNK_SIZE", 1024 * 1024)
# Uploads that end in a commit (catalog/uploads.py): parts of resumable transfers (pages, API, Git LFS
# multipart), how long unclaimed received bytes are kept, from what size LFS clients use multipart (5 GiB,
# S3's single-PUT limit: one streamed PUT is hashed as it arrives, parts need a second pass; lower it behind
# a proxy that limits request bodies).
OMH_UPLOAD_PART_BYTES = env_int("OMH_UPLOAD_PART_BYTES", 16 * 1024**2)
OMH_UPLOAD_SESSION_SECONDS = env_int("OMH_UPLOAD_SESSION_SECONDS", 24 * 3600)
OMH_LFS_MULTIPART_BYTES = env_int("OMH_LFS_MULTIPART_BYTES", 5 * 1024**3)
OMH_ZIP_MAX_TOTAL_BYTES = env_int("OMH_ZIP_MAX_TOTAL_BYTES", 50 * 1024**3)
OMH_ZIP_MAX_RATIO = env_int("OMH_ZIP_MAX_RATIO", 200)
OMH_ZIP_MAX_ENTRIES = env_int("OMH_ZIP_MAX_ENTRIES", 100_000)
OMH_JSON_PROFILE_MAX_BYTES = env_int("OMH_JSON_PROFILE_MAX_BYTES", 256 * 1024**2)
# Time budget of one file's inspection (pickle scan, archive reads, profiling); past it the version is rejected.
OMH_INSPECTION_SECONDS = env_float("OMH_INSPECTION_SECONDS", 600.0)

# S3-compatible object storage for file content (django-storages) when a bucket is named.
OMH_S3_BUCKET = env_str("OMH_S3_BUCKET", "")
if OMH_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": OMH_S3_BUCKET,
            "endpoint_url": os.environ.get("OMH_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("OMH_S3_REGION") or None,
            "access_key": os.environ.get("OMH_S3_ACCESS_KEY") or None,
            "secret_key": os.environ.get("OMH_S3_SECRET_KEY") or None,
            "location": env_str("OMH_S3_PREFIX", ""),
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
else:
    STORAGES["default"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # orjson, same bytes as DRF's JSONRenderer (openmodelhub.renderers); the browsable API for browsers.
    "DEFAULT_RENDERER_CLASSES": [
        "openmodelhub.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "openmodelhub.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "openmodelhub.throttling.AnonRateThrottle",
        "openmodelhub.throttling.UserRateThrottle",
    ],
    "NUM_PROXIES": OMH_NUM_PROXIES,  # our throttles key on openmodelhub.network.client_ip, which reads the same
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "120/minute"),
        "user": env_str("API_THROTTLE_USER", "1200/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OpenModelHub API",
    "DESCRIPTION": "Models, datasets, their files, licences and lineage. Authenticate with a personal access "
    "token (`Authorization: Bearer omh_…`) or a session. Lists use keyset pagination: follow `next` "
    "(also in the `Link` header). Errors: 400 bodies map each field to its messages; others are "
    '`{"detail": "…"}`.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "FamilyEnum": "catalog.models.base.Family",
        "MediaEnum": "catalog.models.base.Media",
        "VisibilityEnum": "catalog.models.base.Visibility",
        "RelationEnum": "catalog.models.base.Relation",
        "DatasetRoleEnum": "catalog.models.base.DatasetRole",
        "UserRoleEnum": "accounts.models.User.Role",
        "LicenseCategoryEnum": "licensing.models.LicenseCategory",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "catalog.api.schema.document_errors",
    ],
}

# --- Agent (natural-language questions -> read-only SQL) -----------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "") or None
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
AGENT_LLM_TIMEOUT_SECONDS = env_float("AGENT_LLM_TIMEOUT_SECONDS", 30.0)
AGENT_LLM_MAX_RETRIES = env_int("AGENT_LLM_MAX_RETRIES", 2)
AGENT_STATEMENT_TIMEOUT_MS = env_int("AGENT_STATEMENT_TIMEOUT_MS", 5000)
AGENT_MAX_ROWS = env_int("AGENT_MAX_ROWS", 1000)
# An answer's rows, as JSON, are cut at this size (what the query log and the API keep and send).
AGENT_MAX_ANSWER_BYTES = env_int("AGENT_MAX_ANSWER_BYTES", 2_000_000)
AGENT_MAX_QUESTION_CHARS = env_int("AGENT_MAX_QUESTION_CHARS", 2000)
AGENT_PAGE_WAIT_SECONDS = env_int("AGENT_PAGE_WAIT_SECONDS", 90)  # how long the answer page polls
AGENT_API_WAIT_SECONDS = env_float("AGENT_API_WAIT_SECONDS", 20.0)  # then POST /api/v1/agent/query answers 202
AGENT_DB_ROLE = env_str("AGENT_DB_ROLE", "omh_agent_reader")  # PostgreSQL role the agent's SQL runs as

# --- Insights -------------------------------------------------------------------------------
INSIGHTS_CACHE_SECONDS = env_int("INSIGHTS_CACHE_SECONDS", 300)
API_FACETS_CACHE_SECONDS = env_int("API_FACETS_CACHE_SECONDS", 60)
INSIGHTS_WORK_MEM = env_str("INSIGHTS_WORK_MEM", "64MB")  # PostgreSQL work_mem of the statistics' transaction
# Deepest chains: past this many candidates one walk over the visible graph answers instead.
INSIGHTS_LINEAGE_MAX_CANDIDATES = env_int("INSIGHTS_LINEAGE_MAX_CANDIDATES", 20_000)
# `celery -A openmodelhub beat`: keeps the costly shared aggregates warm, a little more often than
# they expire, so that no visitor waits for a cold computation at a million models.
CELERY_BEAT_SCHEDULE = {
    "warm-insights": {
        "task": "insights.tasks.warm_insights_cache",
        "schedule": max(30.0, 0.8 * INSIGHTS_CACHE_SECONDS),
    },
    "warm-facets": {"task": "catalog.tasks.warm_facets", "schedule": max(30.0, 0.8 * API_FACETS_CACHE_SECONDS)},
    # Events after the last checkpoint are the ones a database superuser could remove undetected.
    "audit-checkpoint": {"task": "accounts.tasks.write_audit_checkpoint", "schedule": OMH_AUDIT_CHECKPOINT_SECONDS},
}

# Beat's record of when each task last ran: under OMH_VAR_DIR, not in the checkout (celery beat --schedule overrides).
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get("CELERY_BEAT_SCHEDULE_FILENAME", str(VAR_DIR / "celerybeat-schedule"))

# --- Task limits and the file pipeline's faults (catalog/pipeline.py) ---------------------------
# Every task: a soft time limit (SoftTimeLimitExceeded raised inside it) and a hard one (the pool kills
# the process); a task whose worker process dies is given back to the broker (acks late, rejected on loss).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("OMH_TASK_SOFT_SECONDS", 1800)
CELERY_TASK_TIME_LIMIT = env_int("OMH_TASK_HARD_SECONDS", CELERY_TASK_SOFT_TIME_LIMIT + 60)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ROUTES = ("openmodelhub.celery.route_task",)
# File processing runs on a queue of its own: `celery -A openmodelhub worker -Q files` (README).
OMH_FILES_QUEUE = env_str("OMH_FILES_QUEUE", "files")
OMH_FILE_TASK_SOFT_SECONDS = env_int("OMH_FILE_TASK_SOFT_SECONDS", 3600)
OMH_FILE_TASK_HARD_SECONDS = env_int("OMH_FILE_TASK_HARD_SECONDS", OMH_FILE_TASK_SOFT_SECONDS + 120)
# Pending for longer than this (seconds): the sweep queues the version again. Longer than the hard limit,
# so that a version still being processed is not queued twice.
OMH_PENDING_MAX_AGE = env_int("OMH_PENDING_MAX_AGE", 2 * OMH_FILE_TASK_HARD_SECONDS)
OMH_PIPELINE_MAX_REQUEUES = env_int("OMH_PIPELINE_MAX_REQUEUES", 3)
# Staged files older than this (seconds) that no pending version or live upload session names are removed.
OMH_STAGING_MAX_AGE = env_int("OMH_STAGING_MAX_AGE", 24 * 3600)
OMH_SWEEP_SECONDS = env_float("OMH_SWEEP_SECONDS", 900.0)
if not (0 < OMH_FILE_TASK_SOFT_SECONDS < OMH_FILE_TASK_HARD_SECONDS < OMH_PENDING_MAX_AGE):
    raise ImproperlyConfigured(
        "need 0 < OMH_FILE_TASK_SOFT_SECONDS < OMH_FILE_TASK_HARD_SECONDS < OMH_PENDING_MAX_AGE "
        "(a version is queued again only after its run must have ended)"
    )
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("need 0 < OMH_TASK_SOFT_SECONDS < OMH_TASK_HARD_SECONDS")
CELERY_BEAT_SCHEDULE["sweep-pipeline"] = {"task": "catalog.tasks.sweep_pipeline", "schedule": OMH_SWEEP_SECONDS}

# --- Prepared statements (PostgreSQL) --------------------------------------------------------
# The fixed-shape reads of the hot paths (catalog.statements) and the licence graph are prepared once per
# connection: planning them cost more than running them. Off behind a transaction-pooling PgBouncer, which
# does not keep prepared statements; LICENSING_PREPARED_STATEMENTS (older) turns off the licensing one alone.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
LICENSING_PREPARED_STATEMENTS = env_bool("LICENSING_PREPARED_STATEMENTS", DB_PREPARED_STATEMENTS)

# --- Catalogue records ----------------------------------------------------------------------
# Task names load_records maps onto the task table (fixtures/task_synonyms.json); empty: no mapping.
TASK_SYNONYMS_FILE = env_str("OMH_TASK_SYNONYMS", str(BASE_DIR / "fixtures" / "task_synonyms.json"))

# --- Logging and progress -------------------------------------------------------------------
# Seconds between the progress lines of long commands when their output is not a terminal
# (openmodelhub/progress.py; on a terminal a bar is redrawn in place).
PROGRESS_SECONDS = env_float("OMH_PROGRESS_SECONDS", 10.0)
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # "Task ... succeeded in 0.01s" for every task (eager ones run inside commands and requests):
        # shown from LOG_LEVEL=DEBUG only. Failures are logged at ERROR whatever the level.
        "celery.app.trace": {"level": "DEBUG" if LOG_LEVEL.upper() == "DEBUG" else "WARNING"},
    },
}

# --- Search (catalog/search.py, catalog/semantic.py; docs/search.md) --------------------------
# Matches ranked exactly per query (the rest follow by id): the bound that keeps a common word cheap.
SEARCH_RANKED_CANDIDATES = env_int("OMH_SEARCH_RANKED_CANDIDATES", 100)
# "keyword" (id matching + full text) or "hybrid" (also vectors) without ?mode= (docs/search.md: why keyword).
SEARCH_DEFAULT_MODE = env_str("OMH_SEARCH_DEFAULT_MODE", "keyword")
if SEARCH_DEFAULT_MODE not in ("keyword", "hybrid", "vector"):
    raise ImproperlyConfigured("OMH_SEARCH_DEFAULT_MODE must be keyword, hybrid or vector")
# The HNSW index files (memory-mapped by every worker: shared storage when web and workers are apart).
SEARCH_VECTOR_INDEX_DIR = Path(env_str("OMH_SEARCH_VECTOR_INDEX_DIR", str(VAR_DIR / "search-index")))
SEARCH_HNSW_CONNECTIVITY = env_int("OMH_SEARCH_HNSW_CONNECTIVITY", 16)
SEARCH_HNSW_EXPANSION_ADD = env_int("OMH_SEARCH_HNSW_EXPANSION_ADD", 64)
SEARCH_HNSW_EXPANSION_SEARCH = env_int("OMH_SEARCH_HNSW_EXPANSION_SEARCH", 64)
SEARCH_HNSW_THREADS = env_int("OMH_SEARCH_HNSW_THREADS", 0)  # threads building the index (0: one per core)
# Vectors changed since the index was built are scanned exactly; past this many the task rebuilds it.
SEARCH_REBUILD_AFTER = env_int("OMH_SEARCH_REBUILD_AFTER", 5000)
# Index candidates looked at before a narrow filter falls back to an exact scan of what it allows.
SEARCH_MAX_VECTOR_CANDIDATES = env_int("OMH_SEARCH_MAX_VECTOR_CANDIDATES", 4000)
# Beat rebuilds the vector index this often (and embed_batch when the delta grows past the bound above).
SEARCH_REBUILD_SECONDS = env_float("OMH_SEARCH_REBUILD_SECONDS", 3600.0)
CELERY_BEAT_SCHEDULE["rebuild-vector-index"] = {
    "task": "catalog.tasks.rebuild_vector_indexes",
    "schedule": max(60.0, SEARCH_REBUILD_SECONDS),
}
