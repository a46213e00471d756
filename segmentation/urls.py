"""Segmentation's pages, under the customers' address as before the app moved:
the churn alerts and "mark lost" on a customer's page."""

from django.urls import path

from segmentation import views

app_name = "segmentation"

urlpatterns = [
    path("churn/", views.ChurnListView.as_view(), name="churn"),
    path("<int:pk>/lost/", views.ChurnLostView.as_view(), name="mark_lost"),
]
