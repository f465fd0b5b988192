"""Writes on users, affiliations, sharing and API tokens; each one that matters is audited."""

import functools
import hashlib
import secrets
from datetime import timedelta
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone
from accounts import audit
from accounts.models import Affiliation, ApiToken, Grant, Invitation, Permission, User


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


# --------------------------------------------------------------------------------------------
# Sharing
# --------------------------------------------------------------------------------------------


INVITATION_DAYS = 14


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def can_manage_sharing(user, asset) -> bool:
    """Sharing needs the manage level (accounts.models.Permission): owner, manage grantees, admins, curators."""
    return asset.is_manageable_by(user)


MANAGE_REFUSED = "Only the owner of this asset, someone it is shared with to manage, an admin or a curator may {}."


def _require_manager(user, asset) -> None:
    if not can_manage_sharing(user, asset):
        raise PermissionDenied(MANAGE_REFUSED.format("manage who it is shared with"))


def _unrevoked_grants(*, asset, user: User | None, affiliation: Affiliation | None) -> list[Grant]:
    """The grantee's unrevoked grants on the asset, locked: at most one (a constraint), expired or not.
    The grantee's row is locked first, so that two grants or acceptances for them wait for each other."""
    grantees = User.objects.filter(pk=user.pk) if user else Affiliation.objects.filter(pk=affiliation.pk)
    list(grantees.select_for_update().values_list("pk", flat=True))
    return list(
        Grant.objects.select_for_update().filter(
            **{asset.kind: asset, "user": user, "affiliation": affiliation, "revoked_at__isnull": True}
        )
    )


def _revoke_all(grants: list[Grant]) -> None:
    Grant.objects.filter(pk__in=[grant.pk for grant in grants]).update(revoked_at=timezone.now())


@transaction.atomic
def grant_access(
    *,
    by: User,
    asset,
    permission: str,
    user: User | None = None,
    affiliation: Affiliation | None = None,
    expires_at=None,
    request=None,
) -> Grant:
    _require_manager(by, asset)
    if (user is None) == (affiliation is None):
        raise ValidationError("Grant access to exactly one user or one affiliation.")
    if user is not None and user.pk == asset.owner_id:
        raise ValidationError("The owner already has full access.")
    if permission not in Grant.Permission.values:
        raise ValidationError(f"Permission must be one of {', '.join(Grant.Permission.values)}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry must be in the future.")
    # One unrevoked grant per grantee and asset: a new grant replaces the previous one.
    _revoke_all(_unrevoked_grants(asset=asset, user=user, affiliation=affiliation))
    grant = Grant.objects.create(
        **{asset.kind: asset},
        user=user,
        affiliation=affiliation,
        permission=permission,
        created_by=by,
        expires_at=expires_at,
    )
    audit.record(
        "grant.create",
        actor=by,
        target=asset,
        request=request,
        details={
            "grant": grant.pk,
            "permission": permission,
            "user": user.username if user else None,
            "affiliation": affiliation.name if affiliation else None,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return grant


@transaction.atomic
def revoke_grant(*, by: User, grant: Grant, request=None) -> Grant:
    _require_manager(by, grant.asset)
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        audit.record("grant.revoke", actor=by, target=grant.asset, request=request, details={"grant": grant.pk})
    return grant


@transaction.atomic
def invite(
    *,
    by: User,
    asset,
    permission: str,
    invited_user: User | None = None,
    email: str = "",
    days: int = INVITATION_DAYS,
    request=None,
) -> tuple[Invitation, str]:
    """Create an invitation; returns it with the secret token, which is not stored and shown once."""
    _require_manager(by, asset)
    if invited_user is None and not email:
        raise ValidationError("Invite a registered user or an e-mail address.")
    if permission not in Invitation.Permission.values:
        raise ValidationError(f"Permission must be one of {', '.join(Invitation.Permission.values)}.")
    if not 1 <= days <= 365:
        raise ValidationError("An invitation is valid for 1 to 365 days.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        **{asset.kind: asset},
        invited_user=invited_user,
        email=email.strip().lower(),
        permission=permission,
        token_hash=token_digest(token),
        created_by=by,
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit.record(
        "invitation.send",
        actor=by,
        target=asset,
        request=request,
        details={
            "invitation": invitation.pk,
            "recipient": invitation.recipient,
            "permission": permission,
        },
    )
    return invitation, token


def mail_invitation(*, invitation: Invitation, token: str, request) -> str:
    """E-mail the accept link to the invitation's address (or its user's); returns the link. Pages and
    the API both call this right after ``invite``."""
    url = request.build_absolute_uri(reverse("accounts:invitation", args=[token]))
    address = invitation.email or (invitation.invited_user.email if invitation.invited_user else "")
    if address:
        sender = invitation.created_by.username if invitation.created_by else "Someone"
        send_mail(
            f"{sender} shared {invitation.asset} with you on OpenModelHub",
            f"You are invited to {invitation.permission} {invitation.asset}.\n\nAccept: {url}\n\n"
            f'Or with the API: POST /api/v1/invitations/accept/ with {{"token": "{token}"}}\n\n'
            f"The invitation expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.",
            None,
            [address],
            fail_silently=True,
        )
    return url


def find_invitation(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("model__owner", "dataset__owner", "invited_user")
        .filter(token_hash=token_digest(token))
        .first()
    )


@transaction.atomic
def accept_invitation(*, user: User, token: str, request=None) -> Grant:
    """Accept for ``user``. The result is their one grant on the asset: the grant they hold already
    when its permission is as high (never a downgrade; revoking this invitation then leaves it), else
    a new grant with the invitation's permission that replaces it."""
    invitation = Invitation.objects.select_for_update().filter(token_hash=token_digest(token)).first()
    if invitation is None:
        raise ValidationError("This invitation does not exist.")
    if invitation.status != "pending":
        raise ValidationError(f"This invitation is {invitation.status} and can no longer be accepted.")
    if invitation.invited_user_id and invitation.invited_user_id != user.pk:
        raise ValidationError("This invitation is addressed to another account.")
    if not invitation.invited_user_id and invitation.email != user.email.strip().lower():
        raise ValidationError("This invitation is addressed to another e-mail address than your account's.")
    current = _unrevoked_grants(asset=invitation.asset, user=user, affiliation=None)
    held = next((grant for grant in current if grant.is_active), None)
    if held is not None and Permission.highest(held.permission, invitation.permission) == held.permission:
        _revoke_all([grant for grant in current if grant.pk != held.pk])
        grant, linked = held, None  # the access stays the existing grant's, revoked with it
    else:
        _revoke_all(current)
        grant = linked = Grant.objects.create(
            model=invitation.model,
            dataset=invitation.dataset,
            user=user,
            permission=invitation.permission,
            created_by=invitation.created_by,
        )
    invitation.accepted_at, invitation.accepted_by, invitation.grant = timezone.now(), user, linked
    invitation.save(update_fields=["accepted_at", "accepted_by", "grant"])
    audit.record(
        "invitation.accept",
        actor=user,
        target=invitation.asset,
        request=request,
        details={
            "invitation": invitation.pk,
            "grant": grant.pk,
            "permission": grant.permission,
            "replaced": [g.pk for g in current if g.pk != grant.pk],
        },
    )
    return grant


@transaction.atomic
def revoke_invitation(*, by: User, invitation: Invitation, request=None) -> Invitation:
    """Withdraw an invitation; if it was accepted, the access it gave ends too."""
    _require_manager(by, invitation.asset)
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("grant").get(pk=invitation.pk)
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        if invitation.grant is not None and invitation.grant.revoked_at is None:
            invitation.grant.revoked_at = invitation.revoked_at
            invitation.grant.save(update_fields=["revoked_at"])
        audit.record(
            "invitation.revoke",
            actor=by,
            target=invitation.asset,
            request=request,
            details={"invitation": invitation.pk},
        )
    return invitation


# --------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------

TOKEN_PREFIX = "omh"


@transaction.atomic
def create_api_token(*, user: User, name: str, scope: str, expires_at=None, request=None) -> tuple[ApiToken, str]:
    """Returns the token and its secret, ``omh_<prefix>_<secret>``: shown once, only a hash is kept."""
    if not name.strip():
        raise ValidationError("Give the token a name.")
    if scope not in ApiToken.Scope.values:
        raise ValidationError(f"Scope must be one of {', '.join(ApiToken.Scope.values)}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry must be in the future.")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name.strip(), prefix=prefix, token_hash=token_digest(secret), scope=scope, expires_at=expires_at
    )
    audit.record(
        "token.create",
        actor=user,
        target=token,
        request=request,
        details={"name": token.name, "scope": scope, "prefix": prefix},
    )
    return token, secret


@transaction.atomic
def revoke_api_token(*, by: User, token: ApiToken, request=None) -> ApiToken:
    if token.user_id != by.pk and by.role != User.Role.ADMIN:
        raise PermissionDenied("Only the token's owner can revoke it.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record("token.revoke", actor=by, target=token, request=request, details={"prefix": token.prefix})
    return token


def authenticate_api_token(secret: str) -> ApiToken | None:
    """The active token for this secret (one query, revocation takes effect at once), its last-used time
    brought up to date at most once per ``OMH_TOKEN_LAST_USED_SECONDS``: other requests write nothing."""
    token = _token_with_user(token_digest(secret))
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= timedelta(
        seconds=settings.OMH_TOKEN_LAST_USED_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _token_with_user(digest: str) -> ApiToken | None:
    """The token of this digest with its user, by the unique index on ``token_hash``: what
    ``ApiToken.objects.select_related("user").filter(token_hash=digest).first()`` returns, but its SQL
    written once per database (building it through the ORM was ~20% of a write request's CPU)."""
    connection = connections[ApiToken.objects.db]
    sql, models = _token_statement(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    instances, start = [], 0
    for model, converters in models:
        fields = model._meta.concrete_fields
        values = list(row[start : start + len(fields)])
        for index, expression, convert in converters:
            values[index] = convert(values[index], expression, connection)
        instances.append(model.from_db(connection.alias, [f.attname for f in fields], values))
        start += len(fields)
    token, user = instances
    ApiToken.user.field.set_cached_value(token, user)
    return token


@functools.cache
def _token_statement(alias: str) -> tuple[str, list]:
    """The SELECT of a token and its user, and per model the converters of its columns (the database's and
    the fields' own, as the ORM applies them)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns, models = [], []
    for model, table in ((ApiToken, "t"), (User, "u")):
        converters = []
        for index, f in enumerate(model._meta.concrete_fields):
            columns.append(f"{table}.{quote(f.column)}")
            col = f.get_col(table)
            converters += [
                (index, col, c) for c in connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            ]
        models.append((model, converters))
    user_id = ApiToken._meta.get_field("user").column
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(ApiToken._meta.db_table)} t "
        f"JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = t.{quote(user_id)} "
        f"WHERE t.{quote('token_hash')} = %s"
    )
    return sql, models


# --------------------------------------------------------------------------------------------
# User management (admins)
# --------------------------------------------------------------------------------------------


@transaction.atomic
def change_role(*, by: User, user: User, role: str, request=None) -> User:
    if not by.is_admin:
        raise PermissionDenied("Only admins change roles.")
    if role not in User.Role.values:
        raise ValidationError(f"Role must be one of {', '.join(User.Role.values)}.")
    if user.pk == by.pk and role != User.Role.ADMIN:
        raise ValidationError("You cannot take the admin role from yourself; ask another admin.")
    if user.role != role:
        old, user.role = user.role, role
        user.save(update_fields=["role"])
        audit.record("user.role", actor=by, target=user, request=request, details={"from": old, "to": role})
    return user


@transaction.atomic
def set_active(*, by: User, user: User, active: bool, request=None) -> User:
    if not by.is_admin:
        raise PermissionDenied("Only admins deactivate accounts.")
    if user.pk == by.pk and not active:
        raise ValidationError("You cannot deactivate your own account.")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit.record("user.activate" if active else "user.deactivate", actor=by, target=user, request=request)
    return user
