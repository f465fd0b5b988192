"""Shared fixtures: users named by role, as in docs/STYLE.md."""

from pathlib import Path

import pytest

from accounts.models import User

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (it sits beside the checkout)")
    return SHARED_DATA


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("owner", "owner@example.org", "owner-pass-123")


@pytest.fixture
def stranger(db) -> User:
    return User.objects.create_user("stranger", "stranger@example.org", "stranger-pass-123")


@pytest.fixture
def curator(db) -> User:
    return User.objects.create_user("curator", "curator@example.org", "curator-pass-123", role=User.Role.CURATOR)


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser("admin", "admin@example.org", "admin-pass-123")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings, request):
    """Argon2 is deliberately slow; tests that are about hashing ask for it with @pytest.mark.argon2."""
    if "argon2" not in request.keywords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """The manifest storage needs collectstatic, which production runs at deploy time; tests do not."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fresh_search_index(settings, tmp_path_factory):
    """Each test starts without a vector index or fitted token weights: a test that fits them (a demo setup,
    ``embed_assets``) would otherwise change every embedding the later tests of its worker compute, and the
    folder under ``var/`` would carry them into the next run. Subprocesses a test starts are given the
    folder explicitly by that test."""
    settings.SEARCH_VECTOR_INDEX_DIR = tmp_path_factory.mktemp("search-index", numbered=True)


@pytest.fixture
def affiliation(db):
    from accounts.models import Affiliation

    return Affiliation.objects.create(name="Example University")


@pytest.fixture
def grantee(db) -> User:
    return User.objects.create_user("grantee", "grantee@example.org", "grantee-pass-123")


@pytest.fixture
def member(db, affiliation) -> User:
    """A member of `affiliation`, which is granted access in the tests that need it."""
    user = User.objects.create_user("member", "member@example.org", "member-pass-123")
    user.affiliations.add(affiliation)
    return user


@pytest.fixture
def anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


@pytest.fixture
def file_store(settings, tmp_path, monkeypatch):
    """Local storage, staging and a master key ring of the test's own (nothing shared between tests)."""
    from catalog import crypto

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    settings.OMH_STAGING_DIR = tmp_path / "staging"
    settings.OMH_ENCRYPTION_CHUNK_SIZE = 1024
    key_id, key = crypto.new_master_key()
    monkeypatch.setenv("OMH_MASTER_KEYS", f"{key_id}:{key}")
    monkeypatch.setenv("OMH_MASTER_KEY_ID", key_id)
    crypto.keyring.cache_clear()
    yield tmp_path
    crypto.keyring.cache_clear()


@pytest.fixture
def eager_celery(settings):
    """Run tasks in process even when REDIS_URL points Celery at a broker (as in CI)."""
    from openmodelhub.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


# Browser fixtures (chromium, browser_page, second_browser_page) shared by every app's browser tests.
pytest_plugins = ["catalog.tests.browser"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache (Redis in CI): throttle counters, login lock-outs and
    cached statistics never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True, scope="session")
def audit_tables_can_be_flushed():
    """On PostgreSQL a trigger refuses TRUNCATE of the audit tables (accounts 0004) unless a superuser
    sets omh.audit_maintenance for the transaction. The flush that ends each transactional test
    (live server, threads) is such a maintenance: it sets it, for its own transaction only."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return flush(self, ["SET LOCAL omh.audit_maintenance = 'on'", *sql_list])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = flush
