"""Console URLs of the membrane."""

from django.urls import path

from cxcore.membrane import views

app_name = "membrane"

urlpatterns = [
    path("", views.home, name="home"),
    path("policies/<str:purpose>/", views.policy_edit, name="policy_edit"),
    path("messages/", views.message_list, name="messages"),
    path("messages/new/", views.message_new, name="message_new"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/dry-run/", views.campaign_dry_run, name="campaign_dry_run"),
    path("campaigns/<int:pk>/start/", views.campaign_start, name="campaign_start"),
    path("campaigns/<int:pk>/letters.pdf", views.campaign_letters, name="campaign_letters"),
    path("campaigns/<int:pk>/calls/", views.campaign_calls, name="campaign_calls"),
    path("customers/<int:pk>/", views.customer_membrane, name="customer"),
    path("customers/<int:pk>/consents/", views.customer_consent_add, name="customer_consent"),
    path("customers/<int:pk>/do-not-contact/", views.customer_dnc_add, name="customer_dnc"),
    path(
        "customers/<int:pk>/preferences/", views.customer_preferences, name="customer_preferences"
    ),
    path(
        "customers/<int:pk>/do-not-contact/<int:entry_pk>/lift/",
        views.customer_dnc_lift,
        name="customer_dnc_lift",
    ),
    path("customers/<int:pk>/send/", views.customer_send, name="customer_send"),
]
