"""Writes on users and affiliations that other apps (the record loader) call."""

from accounts.models import Affiliation, User


def ensure_affiliation(*, name: str, description: str = "") -> tuple[Affiliation, bool]:
    affiliation, created = Affiliation.objects.get_or_create(name=name, defaults={"description": description})
    if not created and description and affiliation.description != description:
        affiliation.description = description
        affiliation.save(update_fields=["description"])
    return affiliation, created


def ensure_user(
    *, username: str, email: str = "", role: str = User.Role.USER, password: str | None = None
) -> tuple[User, bool]:
    """Create the user if missing (password hashed with the first hasher, Argon2; none = unusable).

    An existing user keeps their password: reloading records never resets credentials.
    """
    user = User.objects.filter(username=username).first()
    if user is not None:
        changed = []
        if email and user.email != email:
            user.email, changed = email, [*changed, "email"]
        if role and user.role != role:
            user.role, changed = role, [*changed, "role"]
        if changed:
            user.save(update_fields=changed)
        return user, False
    user = User(username=username, email=email, role=role or User.Role.USER)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user, True
