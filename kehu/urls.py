"""Every page's address: the platform's and each app's, the dashboard, the
survey links customers open without an account, and Django admin."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from crm.forms import AdminLoginForm
from dashboards.views import DashboardView
from feedback import public as survey_public

admin.site.login_form = AdminLoginForm
admin.site.site_header = "Kehu CRM"
admin.site.site_title = "Kehu CRM"

urlpatterns = [
    path("", include("crm.urls")),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    # The survey links customers open, without an account.
    path("s/<str:token>/", survey_public.SurveyAnswerView.as_view(), name="survey_answer"),
    path("s/<str:token>/thanks/", survey_public.SurveyThanksView.as_view(), name="survey_thanks"),
    path("customers/", include("customers.urls")),
    path("customers/", include("segmentation.urls")),
    path("sales/", include("sales.urls")),
    path("interactions/", include("interactions.urls")),
    path("feedback/", include("feedback.urls")),
    path("admin/", admin.site.urls),
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
]

handler404 = "crm.views.error_404"
handler500 = "crm.views.error_500"
