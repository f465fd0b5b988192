from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import audit, services
from accounts.forms import ApiTokenForm, GrantForm, InvitationForm, LoginForm, RegistrationForm, RoleForm
from accounts.models import ApiToken, Grant, Invitation, Permission, User
from catalog.models import Asset
from openmodelhub.params import ascii_int


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        audit.record("user.register", actor=user, target=user, request=request)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}. Your account is ready.")
        return redirect("home")
    return render(request, "registration/register.html", {"form": form})


def _shareable_asset(request: HttpRequest, kind: str, owner: str, name: str):
    asset = Asset.of_plural(kind).objects.select_related("owner").named(f"{owner}/{name}", user=request.user)
    if not services.can_manage_sharing(request.user, asset):
        raise PermissionDenied(services.MANAGE_REFUSED.format("manage who it is shared with"))
    return asset


@login_required
def share(request: HttpRequest, kind: str, owner: str, name: str) -> HttpResponse:
    asset = _shareable_asset(request, kind, owner, name)
    grant_form, invite_form = GrantForm(prefix="grant"), InvitationForm(prefix="invite")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "grant":
                grant_form = GrantForm(request.POST, prefix="grant")
                if grant_form.is_valid():
                    data = grant_form.cleaned_data
                    services.grant_access(
                        by=request.user,
                        asset=asset,
                        permission=data["permission"],
                        user=data.get("user"),
                        affiliation=data.get("affiliation"),
                        expires_at=data.get("expires_at"),
                        request=request,
                    )
                    messages.success(request, f"Access granted to {data.get('user') or data.get('affiliation')}.")
                    return redirect(request.path)
            elif action == "invite":
                invite_form = InvitationForm(request.POST, prefix="invite")
                if invite_form.is_valid():
                    data = invite_form.cleaned_data
                    invitation, token = services.invite(
                        by=request.user,
                        asset=asset,
                        permission=data["permission"],
                        invited_user=invite_form.invited_user,
                        email="" if invite_form.invited_user else data["recipient"],
                        days=data["days"],
                        request=request,
                    )
                    url = services.mail_invitation(invitation=invitation, token=token, request=request)
                    messages.success(
                        request, f"Invitation sent to {invitation.recipient}. Its link, shown only now: {url}"
                    )
                    return redirect(request.path)
            elif action == "revoke-grant":
                grant = get_object_or_404(Grant.objects.for_asset(asset), pk=ascii_int(request.POST.get("id")))
                services.revoke_grant(by=request.user, grant=grant, request=request)
                messages.success(request, f"Access of {grant.grantee} revoked.")
                return redirect(request.path)
            elif action == "revoke-invitation":
                invitation = get_object_or_404(
                    Invitation.objects.for_asset(asset), pk=ascii_int(request.POST.get("id"))
                )
                services.revoke_invitation(by=request.user, invitation=invitation, request=request)
                messages.success(request, f"Invitation to {invitation.recipient} revoked.")
                return redirect(request.path)
            else:
                messages.error(request, "Unknown action.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    context = {
        "asset": asset,
        "kind": kind,
        "grant_form": grant_form,
        "invite_form": invite_form,
        "grants": Grant.objects.active().for_asset(asset).select_related("user", "affiliation"),
        "invitations": Invitation.objects.for_asset(asset).select_related("invited_user"),
    }
    return render(request, "accounts/share.html", context)


@login_required
def my_sharing(request: HttpRequest) -> HttpResponse:
    mine = _shared_by(request.user)
    related = ["model__owner", "dataset__owner", "user", "affiliation"]
    return render(
        request,
        "accounts/my_sharing.html",
        {
            "grants": Grant.objects.active().filter(mine).select_related(*related),
            "invitations": Invitation.objects.filter(mine).select_related(
                "model__owner", "dataset__owner", "invited_user"
            ),
        },
    )


def _shared_by(user) -> Q:
    """Grants and invitations on the assets ``user`` shares: their own, and those a manage grant (to them
    or to one of their affiliations) lets them share. An admin's or curator's right over every asset is
    not listed here: that would be every grant of the hub (the admin lists those)."""
    managed = Grant.objects.active().reaching(user).filter(permission=Permission.MANAGE)
    return (
        Q(model__owner=user)
        | Q(dataset__owner=user)
        | Q(model__in=managed.filter(model__isnull=False).values("model_id"))
        | Q(dataset__in=managed.filter(dataset__isnull=False).values("dataset_id"))
    )


def _strongest_per_asset(grants) -> list[Grant]:
    """One grant per asset, when several reach the user (directly and through affiliations): the highest
    level, and among equal levels the one that lasts longest."""

    def strength(grant: Grant) -> tuple:
        lasting = grant.expires_at.timestamp() if grant.expires_at else float("inf")
        return Permission.values.index(grant.permission), lasting

    best: dict[tuple, Grant] = {}
    for grant in grants:
        key = (grant.model_id, grant.dataset_id)
        if key not in best or strength(grant) > strength(best[key]):
            best[key] = grant
    return list(best.values())


@login_required
def shared_with_me(request: HttpRequest) -> HttpResponse:
    grants = _strongest_per_asset(
        Grant.objects.active()
        .reaching(request.user)
        .order_by("-created_at", "-pk")
        .select_related("model__owner", "dataset__owner", "affiliation", "created_by")
    )
    pending = Invitation.objects.filter(invited_user=request.user, accepted_at__isnull=True, revoked_at__isnull=True)
    return render(request, "accounts/shared_with_me.html", {"grants": grants, "pending": pending})


@login_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = services.find_invitation(token)
    if found is None:
        raise Http404("No such invitation.")
    if request.method == "POST":
        try:
            grant = services.accept_invitation(user=request.user, token=token, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"You now have {grant.permission} access to {grant.asset}.")
            return redirect(grant.asset.get_absolute_url())
    return render(request, "accounts/invitation.html", {"invitation": found})


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form, secret = ApiTokenForm(request.POST or None), None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            token = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=ascii_int(request.POST.get("id")))
            services.revoke_api_token(by=request.user, token=token, request=request)
            messages.success(request, f"Token “{token.name}” revoked.")
            return redirect("accounts:tokens")
        if form.is_valid():
            try:
                token, secret = services.create_api_token(user=request.user, request=request, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                form = ApiTokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": ApiToken.objects.filter(user=request.user),
        },
    )


def _require_admin(request: HttpRequest) -> None:
    if not (request.user.is_authenticated and request.user.is_admin):
        raise PermissionDenied("User management is for admins.")


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    users = (
        User.objects.prefetch_related("affiliations")
        .annotate(
            model_count=Count("owned_mlmodels", distinct=True), dataset_count=Count("owned_datasets", distinct=True)
        )
        .order_by("username")
    )
    query = request.GET.get("q", "").strip()
    if query:
        users = users.filter(
            Q(username__icontains=query) | Q(email__icontains=query) | Q(affiliations__name__icontains=query)
        ).distinct()
    return render(request, "accounts/user_list.html", {"users": users, "roles": User.Role.choices, "q": query})


@login_required
@require_POST
def user_update(request: HttpRequest, username: str) -> HttpResponse:
    _require_admin(request)
    target = get_object_or_404(User, username=username)
    action = request.POST.get("action")
    try:
        if action == "role":
            form = RoleForm(request.POST)
            if not form.is_valid():
                raise ValidationError("Choose a valid role.")
            services.change_role(by=request.user, user=target, role=form.cleaned_data["role"], request=request)
        elif action in ("deactivate", "activate"):
            services.set_active(by=request.user, user=target, active=action == "activate", request=request)
        else:
            raise ValidationError("Unknown action.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{target.username} updated.")
    return redirect("accounts:users")
