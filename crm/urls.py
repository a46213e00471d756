from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from crm import views
from crm.forms import AdminLoginForm
from dashboards.views import DashboardView
from feedback import public as survey_public

admin.site.login_form = AdminLoginForm
admin.site.site_header = "Kehu CRM"
admin.site.site_title = "Kehu CRM"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("language/", views.SetLanguageView.as_view(), name="set_language"),
    # The survey links customers open, without an account.
    path("s/<str:token>/", survey_public.SurveyAnswerView.as_view(), name="survey_answer"),
    path("s/<str:token>/thanks/", survey_public.SurveyThanksView.as_view(), name="survey_thanks"),
    path("account/", views.AccountView.as_view(), name="account"),
    path("people/", views.PersonListView.as_view(), name="person_list"),
    path("people/<int:pk>/", views.PersonDetailView.as_view(), name="person_detail"),
    path("teams/<int:pk>/", views.TeamDetailView.as_view(), name="team_detail"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("notifications/", views.NotificationListView.as_view(), name="notification_list"),
    path(
        "notifications/<int:pk>/open/",
        views.NotificationOpenView.as_view(),
        name="notification_open",
    ),
    path(
        "notifications/read-all/",
        views.NotificationReadAllView.as_view(),
        name="notification_read_all",
    ),
    path("audit/", views.AuditListView.as_view(), name="audit_list"),
    path("jobs/", views.JobRunListView.as_view(), name="job_runs"),
    path("customers/", include("customers.urls")),
    path("sales/", include("sales.urls")),
    path("interactions/", include("interactions.urls")),
    path("feedback/", include("feedback.urls")),
    path("admin/", admin.site.urls),
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
]

handler404 = "crm.views.error_404"
handler500 = "crm.views.error_500"
