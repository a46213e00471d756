from django.urls import path

from feedback.views import feedback, surveys

app_name = "feedback"

urlpatterns = [
    path("", feedback.FeedbackListView.as_view(), name="list"),
    path("new/", feedback.FeedbackCreateView.as_view(), name="create"),
    path("<int:pk>/", feedback.FeedbackDetailView.as_view(), name="detail"),
    path("<int:pk>/handle/", feedback.FeedbackHandleView.as_view(), name="handle"),
    path("loyalty/<int:pk>/", feedback.LoyaltyView.as_view(), name="loyalty"),
    path("analysis/", feedback.AnalysisView.as_view(), name="analysis"),
]

urlpatterns += [
    path("surveys/", surveys.SurveyListView.as_view(), name="survey_list"),
    path("surveys/new/", surveys.SurveyEditView.as_view(), name="survey_create"),
    path("surveys/send/", surveys.SurveySendView.as_view(), name="survey_send"),
    path("surveys/<int:pk>/", surveys.SurveyDetailView.as_view(), name="survey_detail"),
    path("surveys/<int:pk>/edit/", surveys.SurveyEditView.as_view(), name="survey_update"),
    path("surveys/<int:pk>/status/", surveys.SurveyStatusView.as_view(), name="survey_status"),
]
