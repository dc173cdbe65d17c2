from django.urls import path

from cxcore.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export.csv", views.customer_export, name="export"),
    path("new/", views.customer_new, name="new"),
    path("<int:pk>/interactions/", views.interaction_add, name="interaction_add"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/profile/", views.customer_edit, name="edit"),
    path("<int:pk>/contact-points/", views.contact_point_add, name="contact_add"),
    path(
        "<int:pk>/contact-points/<int:point_pk>/remove/",
        views.contact_point_remove,
        name="contact_remove",
    ),
    path("<int:pk>/attributes/", views.attribute_add, name="attribute_add"),
    path("<int:pk>/merge/", views.customer_merge, name="merge"),
    path("identity-review/", views.conflict_list, name="conflicts"),
    path("identity-review/<int:pk>/dismiss/", views.conflict_dismiss, name="conflict_dismiss"),
    path("identity-review/<int:pk>/merge/", views.conflict_merge, name="conflict_merge"),
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_edit, name="segment_new"),
    path("segments/<int:pk>/", views.segment_detail, name="segment"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment_edit"),
    path("audit/", views.audit_log, name="audit"),
]
