from django.urls import path

from trialdesk.crfs import views

app_name = "crfs"
urlpatterns = [
    path("visit/<int:visit_pk>/<str:form_code>/<int:repeat>/", views.form_page, name="form"),
    path(
        "visit/<int:visit_pk>/<str:form_code>/<int:repeat>/_validate/",
        views.validate,
        name="validate",
    ),
    path("form/<int:pk>/history/<str:item>/", views.item_history, name="history"),
    path("form/<int:pk>/verify/", views.verify, name="verify"),
    path("form/<int:pk>/sign/", views.sign, name="sign"),
    path("form/<int:pk>/lock/", views.lock, name="lock"),
    path("form/<int:pk>/unlock/", views.unlock, name="unlock"),
    path("form/<int:pk>/query/", views.new_query, name="new-query"),
    path("query/<int:pk>/", views.query_step, name="query-step"),
    path("queries/", views.query_list, name="queries"),
    path("alert/<int:pk>/ack/", views.ack_alert, name="ack-alert"),
    path("data-quality/", views.data_quality, name="data-quality"),
]
