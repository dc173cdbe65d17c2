"""The customer's side: reached only through signed links carried by messages."""

from django.urls import path

from cxcore.portal import views

app_name = "portal"

urlpatterns = [
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("why/<str:token>/", views.why, name="why"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
