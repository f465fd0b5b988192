from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib import admin

        from accounts import signals  # noqa: F401  (connects the audit receivers)
        from accounts.forms import AdminLoginForm

        admin.site.login_form = AdminLoginForm
