from django.urls import path

from feedback import survey_views, views

app_name = "feedback"

urlpatterns = [
    path("", views.FeedbackListView.as_view(), name="list"),
    path("new/", views.FeedbackCreateView.as_view(), name="create"),
    path("<int:pk>/", views.FeedbackDetailView.as_view(), name="detail"),
    path("<int:pk>/handle/", views.FeedbackHandleView.as_view(), name="handle"),
    path("loyalty/<int:pk>/", views.LoyaltyView.as_view(), name="loyalty"),
    path("analysis/", views.AnalysisView.as_view(), name="analysis"),
]

urlpatterns += [
    path("surveys/", survey_views.SurveyListView.as_view(), name="survey_list"),
    path("surveys/new/", survey_views.SurveyEditView.as_view(), name="survey_create"),
    path("surveys/send/", survey_views.SurveySendView.as_view(), name="survey_send"),
    path("surveys/<int:pk>/", survey_views.SurveyDetailView.as_view(), name="survey_detail"),
    path("surveys/<int:pk>/edit/", survey_views.SurveyEditView.as_view(), name="survey_update"),
    path("surveys/<int:pk>/status/", survey_views.SurveyStatusView.as_view(), name="survey_status"),
]
