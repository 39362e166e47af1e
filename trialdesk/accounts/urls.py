from django.urls import path

from trialdesk.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("reset/<uidb64>/<token>/", views.ResetConfirmView.as_view(), name="reset-confirm"),
    path("reset/done/", views.ResetDoneView.as_view(), name="reset-done"),
    path("password/", views.change_password, name="password"),
]
