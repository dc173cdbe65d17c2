"""Public pages of the portal (no login: the signed link is the key)."""

from django.http import HttpResponse


def preferences(request, token):
    return HttpResponse("todo")


def why(request, token):
    return HttpResponse("todo")


def unsubscribe(request, token):
    return HttpResponse("todo")
