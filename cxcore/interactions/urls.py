from django.urls import path

from cxcore.interactions import views

app_name = "interactions"
urlpatterns = [
    path("", views.interaction_list, name="list"),
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/again/", views.import_again, name="import_again"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
]
