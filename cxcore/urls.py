"""URL map: console pages, the REST API, the Django admin for reference data."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cxcore.api.api import api
from cxcore.feedback.hooks import sms_inbound

urlpatterns = [
    path("", include("cxcore.console.urls")),
    path("customers/", include("cxcore.customers.urls")),
    path("interactions/", include("cxcore.interactions.urls")),
    path("tokens/", include("cxcore.api.urls")),
    path("membrane/", include("cxcore.membrane.urls")),
    path("surveys/", include("cxcore.feedback.urls")),
    path("text/", include("cxcore.text.urls")),
    path("", include("cxcore.portal.urls")),
    path("hooks/sms/inbound", sms_inbound, name="sms_inbound"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="console/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(
            template_name="console/password_change.html", success_url="/password/done/"
        ),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="console/password_done.html"),
        name="password_change_done",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
]
