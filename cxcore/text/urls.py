"""Console URLs of the text area, mounted at /text/."""

from django.urls import path

from cxcore.text import views

app_name = "text"

urlpatterns = [
    path("topics/", views.topic_list, name="topics"),
    path("topics/new/", views.topic_new, name="topic_new"),
    path("topics/discover/", views.topic_discovery, name="discovery"),
    path("topics/<str:code>/edit/", views.topic_edit, name="topic_edit"),
    path("topics/<str:code>/delete/", views.topic_delete, name="topic_delete"),
    path("model/", views.sentiment_model, name="model"),
    path("model/adapt/", views.sentiment_model_adapt, name="model_adapt"),
    path("model/default/", views.sentiment_model_restore, name="model_restore"),
]
