from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("", views.FeedbackListView.as_view(), name="list"),
    path("new/", views.FeedbackCreateView.as_view(), name="create"),
    path("<int:pk>/", views.FeedbackDetailView.as_view(), name="detail"),
    path("<int:pk>/handle/", views.FeedbackHandleView.as_view(), name="handle"),
    path("loyalty/<int:pk>/", views.LoyaltyView.as_view(), name="loyalty"),
]
