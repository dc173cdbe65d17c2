"""Console pages for API tokens: list your own, create one (secret shown once), revoke."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cxcore.api.models import ApiToken
from cxcore.api.services import api_token_create, api_token_revoke
from cxcore.console.access import role_required
from cxcore.lib.actor import Actor


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    scope = forms.ChoiceField(label=gettext_lazy("Scope"), choices=ApiToken.Scope.choices)
    days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"), min_value=1, max_value=366, initial=90
    )


@never_cache
@role_required("api.add_apitoken")
def token_list(request):
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = api_token_create(actor=Actor.from_request(request), **form.cleaned_data)
            form = TokenForm()
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                form.add_error(name, errors)
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "api/tokens.html", {"form": form, "tokens": tokens, "secret": secret})


@require_POST
@role_required("api.add_apitoken")
def token_revoke(request, pk: int):
    # Scoped to the owner: someone else's token is a 404, not a 403.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(actor=Actor.from_request(request), token=token)
    messages.success(request, _("Token revoked."))
    return redirect("api:tokens")
