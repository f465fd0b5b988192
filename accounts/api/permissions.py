from rest_framework import permissions


class IsAdminRole(permissions.BasePermission):
    message = "Only admins may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.role == "admin")
