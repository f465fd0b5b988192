from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from accounts import audit, ratelimit
from accounts.models import Affiliation, ApiToken, Grant, User
from openmodelhub.network import client_ip


class RateLimitedLoginMixin:
    """Counts each attempt before its password is checked, and refuses it past the limit (accounts.ratelimit)."""

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not (username and password):  # a missing field reports its own error; nothing is checked
            return super().clean()
        ip = client_ip(self.request)
        admission = ratelimit.admit_attempt(username, ip)
        if not admission.admitted:
            if admission.newly_locked:  # once per lock-out window: a flood of refusals is no flood of audit writes
                audit.record(
                    "login.locked",
                    request=self.request,
                    details={"username": username, "limits": list(admission.newly_locked)},
                )
            raise forms.ValidationError(
                "Too many failed log-in attempts for this account or from this address. "
                f"Try again in {ratelimit.lockout_minutes()} minutes, or reset your password.",
                code="locked",
            )
        cleaned = super().clean()  # a wrong password raises here, and its attempt stays counted
        ratelimit.register_success(username, ip)
        return cleaned


class LoginForm(RateLimitedLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(RateLimitedLoginMixin, AdminAuthenticationForm):
    pass


class RegistrationForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Used for invitations and password resets.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "email"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address exists already.")
        return email


class GrantForm(forms.Form):
    username = forms.CharField(required=False, label="User", help_text="A registered user's name…")
    affiliation = forms.ModelChoiceField(
        Affiliation.objects.all(), required=False, help_text="…or every member of an affiliation."
    )
    permission = forms.ChoiceField(choices=Grant.Permission.choices)
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional. Access ends then.",
    )

    def clean(self):
        cleaned = super().clean()
        username, affiliation = cleaned.get("username", "").strip(), cleaned.get("affiliation")
        if bool(username) == bool(affiliation):
            raise forms.ValidationError("Choose either a user or an affiliation.")
        if username:
            cleaned["user"] = User.objects.filter(username=username, is_active=True).first()
            if cleaned["user"] is None:
                self.add_error("username", "There is no active user with this name.")
        return cleaned


class InvitationForm(forms.Form):
    recipient = forms.CharField(label="User name or e-mail address")
    permission = forms.ChoiceField(choices=Grant.Permission.choices)
    days = forms.IntegerField(min_value=1, max_value=365, initial=14, label="Valid for (days)")

    def clean_recipient(self) -> str:
        value = self.cleaned_data["recipient"].strip()
        if "@" in value:
            forms.EmailField().clean(value)
            self.invited_user = None
        else:
            self.invited_user = User.objects.filter(username=value, is_active=True).first()
            if self.invited_user is None:
                raise forms.ValidationError("There is no active user with this name; give an e-mail address instead.")
        return value


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “CI upload job”.")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=User.Role.choices)
