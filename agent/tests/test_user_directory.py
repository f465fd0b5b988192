"""The agent applies the API's user-directory policy: admins read it; others see owners and authors of what they see."""

import pytest

from accounts.models import User
from agent import prompt, services
from agent.models import ErrorCode
from agent.tests.fake_llm import sql_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def authors(catalogue, db):
    """A public author of open-llm, and a private one known only from secret-llm."""
    public_author = User.objects.create_user("public-author", "pa@example.org", "x-pass-123")
    hidden_author = User.objects.create_user("hidden-author", "ha@example.org", "x-pass-123")
    catalogue["open_llm"].authors.add(public_author)
    catalogue["secret_llm"].authors.add(hidden_author)
    return {"public": public_author, "hidden": hidden_author}


def ask(fake_llm, user, sql):
    fake_llm.script(sql_reply(sql), sql_reply(sql))
    return services.answer_question(user=user, question="Who is on the hub?")


def usernames(answer) -> set[str]:
    assert answer.error_code == ErrorCode.OK, answer.message
    return {row[0] for row in answer.rows}


def test_a_signed_in_user_sees_only_owners_and_authors_of_assets_they_can_see(fake_llm, authors, stranger, admin_user):
    assert usernames(ask(fake_llm, stranger, "SELECT username FROM accounts_user")) == {"owner", "public-author"}


def test_grants_widen_the_users_one_sees_with_the_assets(fake_llm, authors, owner, curator):
    sql = "SELECT username FROM accounts_user"
    assert usernames(ask(fake_llm, owner, sql)) == {"owner", "public-author", "hidden-author"}
    # curators see every asset, so every owner and author, but still no directory
    assert usernames(ask(fake_llm, curator, sql)) == {"owner", "public-author", "hidden-author"}


def test_non_admins_get_only_id_and_username_never_roles_or_activity(fake_llm, authors, stranger, curator):
    for viewer in (stranger, curator):
        answer = ask(fake_llm, viewer, "SELECT * FROM accounts_user")
        assert answer.error_code == ErrorCode.OK and answer.columns == ["id", "username"]
        for column in ("role", "is_active", "date_joined", "first_name", "last_name"):
            refused = ask(fake_llm, viewer, f"SELECT username, {column} FROM accounts_user")
            assert refused.error_code == ErrorCode.EXECUTION_ERROR and column in refused.message
            assert refused.rows == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a.name FROM accounts_affiliation AS a",
        "SELECT user_id, affiliation_id FROM accounts_user_affiliations",
        "SELECT u.username FROM accounts_user u JOIN accounts_user_affiliations ua ON ua.user_id = u.id",
    ],
)
def test_affiliation_memberships_are_refused_to_non_admins(fake_llm, authors, member, curator, sql):
    for viewer in (member, curator):
        answer = ask(fake_llm, viewer, sql)
        assert (
            answer.error_code == ErrorCode.REJECTED
            and "accounts_" in answer.message
            and "not available" in answer.message
        )


def test_joining_through_authors_does_not_reveal_authors_of_hidden_models(fake_llm, authors, stranger):
    sql = (
        "SELECT u.username FROM accounts_user u JOIN catalog_mlmodel_authors a ON a.user_id = u.id "
        "UNION SELECT u.username FROM catalog_mlmodel_authors a LEFT JOIN accounts_user u ON u.id = a.user_id"
    )
    assert usernames(ask(fake_llm, stranger, sql)) == {"public-author"}


def test_admins_read_the_whole_directory_with_roles_and_affiliations(fake_llm, authors, admin_user, member, curator):
    answer = ask(fake_llm, admin_user, "SELECT username, role, is_active FROM accounts_user")
    roles = {row[0]: row[1] for row in usernames_rows(answer)}
    assert roles["curator"] == "curator" and roles["admin"] == "admin" and roles["hidden-author"] == "user"
    answer = ask(
        fake_llm,
        admin_user,
        "SELECT u.username, a.name FROM accounts_user u "
        "JOIN accounts_user_affiliations ua ON ua.user_id = u.id "
        "JOIN accounts_affiliation a ON a.id = ua.affiliation_id",
    )
    assert usernames_rows(answer) == [["member", "Example University"]]


def usernames_rows(answer) -> list:
    assert answer.error_code == ErrorCode.OK, answer.message
    return answer.rows


def test_the_prompt_describes_the_directory_only_to_admins(admin_user, curator, stranger):
    for viewer in (None, stranger, curator):
        system = prompt.system_prompt(dialect="sqlite", user=viewer)
        assert "table accounts_user " in system and "table accounts_affiliation " not in system
        assert "accounts_user_affiliations" not in system.split("What people mean")[0]
        assert "  - role " not in system.split("table accounts_user ")[1].split("table ")[0]
        assert "roles, activity and affiliations are for admins only" in system
    system = prompt.system_prompt(dialect="sqlite", user=admin_user)
    assert "table accounts_affiliation " in system and "table accounts_user_affiliations " in system
    assert "  - role " in system.split("table accounts_user ")[1]
