"""Every console view declares who may use it; this decorator enforces and records that."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def role_required(*permissions: str):
    """Logged-in users holding all these permissions (through their role); others get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        guarded = login_required(wrapped)
        guarded.required_permissions = permissions
        return guarded

    return decorator


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"
