"""Console URLs of surveys, mounted at /surveys/."""

from django.urls import path

from cxcore.feedback import results_views, views

app_name = "feedback"

urlpatterns = [
    path("", views.survey_list, name="surveys"),
    path("new/", views.survey_new, name="survey_new"),
    path("import/", views.survey_import, name="survey_import"),
    path("entry/", views.entry, name="entry"),
    path("entry/<str:code>/", views.entry_answers, name="entry_answers"),
    path("phone/", views.phone, name="phone"),
    path("<int:survey_id>/", views.survey_detail, name="survey"),
    path("<int:survey_id>/edit/", views.survey_edit, name="survey_edit"),
    path("<int:survey_id>/open/", views.survey_open, name="survey_open"),
    path("<int:survey_id>/close/", views.survey_close, name="survey_close"),
    path("<int:survey_id>/duplicate/", views.survey_duplicate, name="survey_duplicate"),
    path("<int:survey_id>/survey.json", views.survey_json, name="survey_json"),
    path("<int:survey_id>/paper.pdf", views.survey_paper, name="survey_paper"),
    path("<int:survey_id>/triggers/", views.trigger_add, name="trigger_add"),
    path("<int:survey_id>/triggers/<int:trigger_id>/", views.trigger_edit, name="trigger_edit"),
    path(
        "<int:survey_id>/triggers/<int:trigger_id>/deactivate/",
        views.trigger_deactivate,
        name="trigger_deactivate",
    ),
    path("<int:survey_id>/kiosks/", views.kiosk_add, name="kiosk_add"),
    path("<int:survey_id>/kiosks/<int:kiosk_id>/key/", views.kiosk_key, name="kiosk_key"),
    path(
        "<int:survey_id>/kiosks/<int:kiosk_id>/deactivate/",
        views.kiosk_deactivate,
        name="kiosk_deactivate",
    ),
    # Results pages (another module): figures, comments one by one, and downloads.
    path("<int:survey_id>/results/", results_views.results, name="results"),
    path("<int:survey_id>/comments/", results_views.comments, name="comments"),
    path("<int:survey_id>/export.<str:fmt>", results_views.export, name="export"),
]
