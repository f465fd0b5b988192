import re
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from http.cookies import SimpleCookie
from typing import TypeVar

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.cache import cache
from django.db import connection, connections
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

from accounts import ratelimit
from accounts.models import AuditEvent, User

pytestmark = pytest.mark.django_db

T = TypeVar("T")


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def attempt(client, username, password, ip="10.0.0.1", url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_an_account_is_locked_after_repeated_failures_even_with_the_right_password(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        assert "correct username and password" in attempt(client, "owner", "wrong").content.decode()
    response = attempt(client, "owner", "owner-pass-123")
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not affected by the account limit.
    User.objects.create_user("other", password="other-pass-123")
    assert attempt(client, "other", "other-pass-123").status_code == 302


def test_an_address_is_locked_after_failures_across_accounts(client, owner, settings):
    settings.LOGIN_FAILURES_PER_IP = 4
    for i in range(4):
        attempt(client, f"guess{i}", "wrong", ip="10.0.0.9")
    assert "Too many failed" in attempt(client, "owner", "owner-pass-123", ip="10.0.0.9").content.decode()
    assert attempt(client, "owner", "owner-pass-123", ip="10.0.0.10").status_code == 302


def test_the_admin_login_is_limited_too(client, admin_user, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        attempt(client, "admin", "wrong", url="/admin/login/")
    response = attempt(client, "admin", "admin-pass-123", url="/admin/login/")
    assert "Too many failed" in response.content.decode()


def test_a_success_clears_the_account_counter(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    attempt(client, "owner", "wrong")
    attempt(client, "owner", "wrong")
    assert attempt(client, "owner", "owner-pass-123").status_code == 302
    client.logout()
    attempt(client, "owner", "wrong")
    attempt(client, "owner", "wrong")
    assert attempt(client, "owner", "owner-pass-123").status_code == 302


def test_an_empty_password_does_not_reset_the_account_counter(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    attempt(client, "owner", "wrong")
    attempt(client, "owner", "wrong")
    assert attempt(client, "owner", "").status_code == 200  # the form's own error, no check, no reset
    attempt(client, "owner", "wrong")
    assert "Too many failed" in attempt(client, "owner", "owner-pass-123").content.decode()
    assert AuditEvent.objects.filter(action="login.failed").count() == 3


def test_the_lockout_ends_with_its_window(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_LOCKOUT_SECONDS = 2, 1
    for _ in range(3):
        attempt(client, "owner", "wrong")
    time.sleep(1.5)  # Redis expires the counter it created by INCR; local memory the one it added
    assert attempt(client, "owner", "owner-pass-123").status_code == 302


def test_a_lockout_is_audited_once_per_window_while_refusals_keep_counting(client, owner, settings):
    # A long window, so that the twelve attempts fall inside it however slowly Argon2 runs on a busy machine
    # (a 1 s window failed under load); its end is the counter's expiry, shown by the test above.
    settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_LOCKOUT_SECONDS = 2, 60
    for _ in range(12):
        attempt(client, "owner", "wrong")
    locked = AuditEvent.objects.filter(action="login.locked")
    assert [e.details for e in locked] == [{"username": "owner", "limits": ["account"]}]
    assert cache.get(ratelimit._key("account", "owner")) == 12  # every refused attempt still counted
    assert "Too many failed" in attempt(client, "owner", "owner-pass-123").content.decode()
    cache.delete(ratelimit._key("account", "owner"))  # the window ends: crossing the limit again is a new
    for _ in range(4):  # lock-out, audited again
        attempt(client, "owner", "wrong")
    assert AuditEvent.objects.filter(action="login.locked").count() == 2
    assert AuditEvent.objects.filter(action="login.failed").count() == 4


def test_an_address_lockout_is_audited_once_across_accounts(client, settings):
    settings.LOGIN_FAILURES_PER_IP = 3
    for i in range(10):
        attempt(client, f"guess{i}", "wrong", ip="10.0.0.9")
    assert list(AuditEvent.objects.filter(action="login.locked").values_list("details", flat=True)) == [
        {"username": "guess3", "limits": ["address"]}
    ]


def test_a_success_gives_the_address_its_attempt_back(client, owner, settings):
    settings.LOGIN_FAILURES_PER_IP = 2
    for _ in range(3):
        assert attempt(client, "owner", "owner-pass-123").status_code == 302
        client.logout()
    attempt(client, "owner", "wrong")
    attempt(client, "owner", "wrong")
    assert "Too many failed" in attempt(client, "owner", "owner-pass-123").content.decode()


@pytest.mark.argon2
def test_registration_creates_a_user_with_an_argon2_password_and_logs_in(client):
    response = client.post(
        "/accounts/register/",
        {
            "username": "newcomer",
            "email": "new@example.org",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newcomer")
    assert user.password.startswith("argon2") and user.role == "user" and not user.is_staff
    assert client.get("/accounts/tokens/").status_code == 200


def test_registration_errors_are_shown_and_nothing_is_saved(client, owner):
    response = client.post(
        "/accounts/register/",
        {
            "username": "x",
            "email": "owner@example.org",
            "password1": "a-long-passphrase-9",
            "password2": "other",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "exists already" in body and "didn’t match" in body
    assert not User.objects.filter(username="x").exists()


def test_auth_pages_render(client, owner):
    for url in ["/accounts/login/", "/accounts/register/", "/accounts/password/reset/"]:
        assert client.get(url).status_code == 200
    client.force_login(owner)
    assert client.get("/accounts/password/change/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


class LoginPage:
    """The log-in form over real HTTP: one CSRF token, reused by every attempt (as a script would)."""

    def __init__(self, base_url: str):
        self.url = f"{base_url}/accounts/login/"
        with urllib.request.urlopen(self.url) as response:
            cookies = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie"):
                cookies.load(header)
            self.csrf_cookie = cookies["csrftoken"].value
            self.csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())[1]

    def post(self, username: str, password: str) -> tuple[int, str]:
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": self.csrf_token, "username": username, "password": password}
        ).encode()
        request = urllib.request.Request(self.url, data=data, headers={"Cookie": f"csrftoken={self.csrf_cookie}"})
        try:
            with NO_REDIRECTS.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:  # the 302 of a successful log-in
            return error.code, error.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


NO_REDIRECTS = urllib.request.build_opener(_NoRedirect)


class Hub:
    """A hub served over real HTTP whose request threads each open their own database connection."""

    def __init__(self, url: str, in_server_thread: bool):
        self.url, self.in_server_thread = url, in_server_thread

    def query(self, read: Callable[[], T]) -> T:
        """Run ``read`` against the database the server uses."""
        if not self.in_server_thread:
            return read()

        def read_and_close() -> T:
            try:
                return read()
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(read_and_close).result()


class _Server(LiveServerThread):
    """Django's live server with room for 64 pending connections (its default, 10, makes the kernel drop
    or reset some of 30 simultaneous connections on a busy machine)."""

    server_class = type("ThreadedServer", (ThreadedWSGIServer,), {"request_queue_size": 64})


@pytest.fixture
def hub(transactional_db, tmp_path) -> Iterator[Hub]:
    """A hub over real HTTP whose request threads each open their own database connection. On in-memory
    SQLite, which cannot hold concurrent transactions on the test's one connection, the committed rows are
    first copied to a database file (WAL, as the embedded hub runs) that the request threads open."""
    in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()
    memory_name = connection.settings_dict["NAME"]
    if in_memory:
        path = tmp_path / "hub.sqlite3"
        connection.ensure_connection()
        with closing(sqlite3.connect(path)) as copy:
            connection.connection.backup(copy)
        connections.settings["default"]["NAME"] = str(path)
    server = _Server("127.0.0.1", StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    try:
        assert server.error is None, server.error
        yield Hub(f"http://127.0.0.1:{server.port}", in_server_thread=in_memory)
    finally:
        server.terminate()
        connections.settings["default"]["NAME"] = memory_name


def test_thirty_simultaneous_wrong_passwords_reach_the_hasher_only_up_to_the_limit(hub, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 5
    settings.LOGIN_FAILURES_PER_IP = 1000  # the account limit is the one under test
    page = LoginPage(hub.url)
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda _: page.post("owner", "wrong"), range(30)))
    assert [status for status, _ in answers] == [200] * 30
    # Each password that reached the hasher and failed left a login.failed event; the lock-out one login.locked,
    # written by the one attempt that crossed the limit, not one per refusal.
    actions = hub.query(lambda: Counter(AuditEvent.objects.values_list("action", flat=True)))
    assert actions == {"login.failed": 5, "login.locked": 1}
    assert sum("Too many failed" in body for _, body in answers) == 25
    status, body = page.post("owner", "owner-pass-123")
    assert status == 200 and "Too many failed" in body
    assert hub.query(lambda: AuditEvent.objects.filter(action="login").exists()) is False
