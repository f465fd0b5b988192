import pytest

from accounts.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def test_only_admins_open_user_management(client, owner, curator, admin_user):
    assert client.get("/accounts/users/").status_code == 302  # to log in
    for user in (owner, curator):
        client.force_login(user)
        assert client.get("/accounts/users/").status_code == 403
        assert client.post(f"/accounts/users/{owner.username}/", {"action": "role", "role": "admin"}).status_code == 403
    client.force_login(admin_user)
    response = client.get("/accounts/users/")
    assert response.status_code == 200 and "curator" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == "user"


def test_an_admin_changes_roles_and_deactivates(client, owner, admin_user):
    client.force_login(admin_user)
    client.post(f"/accounts/users/{owner.username}/", {"action": "role", "role": "curator"})
    owner.refresh_from_db()
    assert owner.role == "curator" and owner.is_staff and not owner.is_superuser
    client.post(f"/accounts/users/{owner.username}/", {"action": "deactivate"})
    owner.refresh_from_db()
    assert not owner.is_active
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {"user.role", "user.deactivate"}
    response = client.post(f"/accounts/users/{admin_user.username}/", {"action": "deactivate"}, follow=True)
    assert "cannot deactivate your own account" in response.content.decode()


def test_curators_curate_the_catalogue_in_the_admin_but_not_users(client, curator):
    client.force_login(curator)
    assert client.get("/admin/catalog/mlmodel/").status_code == 200
    assert client.get("/admin/catalog/mlmodel/add/").status_code == 200
    assert client.get("/admin/licensing/license/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get("/admin/accounts/auditevent/").status_code == 403


def test_roles_decide_the_staff_flags(db):
    user = User.objects.create_user("u", password="p-p-p-p-1")
    assert not user.is_staff
    user.role = User.Role.ADMIN
    user.save(update_fields=["role"])
    user.refresh_from_db()
    assert user.is_staff and user.is_superuser
