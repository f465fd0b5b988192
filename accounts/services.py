"""Writes on users, affiliations, sharing and API tokens; each one that matters is audited."""

import hashlib
import secrets
from datetime import timedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from accounts import audit
from accounts.models import Affiliation, ApiToken, Grant, Invitation, User, asset_field


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
    """The owner shares an asset; admins may manage anyone's sharing."""
    return user.is_authenticated and user.is_active and (asset.owner_id == user.pk or user.role == User.Role.ADMIN)


def _require_manager(user, asset) -> None:
    if not can_manage_sharing(user, asset):
        raise PermissionDenied("Only the owner of this asset can manage who it is shared with.")


@transaction.atomic
def grant_access(
    *, by: User, asset, permission: str, user: User | None = None, affiliation: Affiliation | None = None,
    expires_at=None, request=None,
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
    field = asset_field(asset)
    # One active grant per grantee and asset: a new grant replaces the previous one.
    Grant.objects.active().filter(**{field: asset, "user": user, "affiliation": affiliation}).update(
        revoked_at=timezone.now()
    )
    grant = Grant.objects.create(
        **{field: asset}, user=user, affiliation=affiliation, permission=permission, created_by=by,
        expires_at=expires_at,
    )
    audit.record("grant.create", actor=by, target=asset, request=request, details={
        "grant": grant.pk, "permission": permission, "user": user.username if user else None,
        "affiliation": affiliation.name if affiliation else None,
        "expires_at": expires_at.isoformat() if expires_at else None,
    })
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
    *, by: User, asset, permission: str, invited_user: User | None = None, email: str = "",
    days: int = INVITATION_DAYS, request=None,
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
        **{asset_field(asset): asset}, invited_user=invited_user, email=email.strip().lower(),
        permission=permission, token_hash=token_digest(token), created_by=by,
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit.record("invitation.send", actor=by, target=asset, request=request, details={
        "invitation": invitation.pk, "recipient": invitation.recipient, "permission": permission,
    })
    return invitation, token


def find_invitation(token: str) -> Invitation | None:
    return Invitation.objects.select_related("model__owner", "dataset__owner", "invited_user").filter(
        token_hash=token_digest(token)
    ).first()


@transaction.atomic
def accept_invitation(*, user: User, token: str, request=None) -> Grant:
    invitation = Invitation.objects.select_for_update().filter(token_hash=token_digest(token)).first()
    if invitation is None:
        raise ValidationError("This invitation does not exist.")
    if invitation.status != "pending":
        raise ValidationError(f"This invitation is {invitation.status} and can no longer be accepted.")
    if invitation.invited_user_id and invitation.invited_user_id != user.pk:
        raise ValidationError("This invitation is addressed to another account.")
    if not invitation.invited_user_id and invitation.email != user.email.strip().lower():
        raise ValidationError("This invitation is addressed to another e-mail address than your account's.")
    grant = Grant.objects.create(
        model=invitation.model, dataset=invitation.dataset, user=user, permission=invitation.permission,
        created_by=invitation.created_by,
    )
    invitation.accepted_at, invitation.accepted_by, invitation.grant = timezone.now(), user, grant
    invitation.save(update_fields=["accepted_at", "accepted_by", "grant"])
    audit.record("invitation.accept", actor=user, target=invitation.asset, request=request,
                 details={"invitation": invitation.pk, "grant": grant.pk})
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
        audit.record("invitation.revoke", actor=by, target=invitation.asset, request=request,
                     details={"invitation": invitation.pk})
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
    audit.record("token.create", actor=user, target=token, request=request,
                 details={"name": token.name, "scope": scope, "prefix": prefix})
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
    """The active token for this secret, with its last-used time brought up to date (at most once a minute)."""
    token = ApiToken.objects.active().select_related("user").filter(token_hash=token_digest(secret)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


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
