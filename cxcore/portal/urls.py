"""The customer's side: reached only through signed links carried by messages."""

from django.urls import path

from cxcore.portal import survey_views, views

app_name = "portal"

urlpatterns = [
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("why/<str:token>/", views.why, name="why"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    # Surveys: the invitation's link, a poster's QR code, a store's kiosk.
    path("s/<str:token>/", survey_views.survey, name="survey"),
    path("s/<str:token>/saved/", survey_views.survey_saved, name="survey_saved"),
    path("s/<str:token>/thanks/", survey_views.survey_thanks, name="survey_thanks"),
    path("q/<str:public_code>/", survey_views.survey_qr, name="survey_qr"),
    path("q/<str:public_code>/qr.svg", survey_views.survey_qr_image, name="survey_qr_image"),
    path("kiosk/<str:key>/", survey_views.kiosk, name="kiosk"),
]
