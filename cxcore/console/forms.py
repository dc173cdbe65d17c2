"""Form helpers shared by the console's pages."""

from django.core.exceptions import ValidationError


def form_errors_from(form, exc: ValidationError) -> None:
    """Put a service's ValidationError next to the matching form fields (else on the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)
