from django.urls import path

from interactions import views

app_name = "interactions"

urlpatterns = [
    path("segments/<int:pk>/tasks/", views.SegmentTasksView.as_view(), name="segment_tasks"),
    path("", views.InteractionListView.as_view(), name="list"),
    path("<int:pk>/", views.InteractionDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.InteractionUpdateView.as_view(), name="update"),
    path("log/<int:pk>/", views.InteractionLogView.as_view(), name="log"),
    path("timeline/<int:pk>/", views.TimelineView.as_view(), name="timeline"),
    path("tasks/", views.TaskListView.as_view(), name="task_list"),
    path("tasks/new/", views.TaskCreateView.as_view(), name="task_create"),
    path("tasks/<int:pk>/done/", views.TaskDoneView.as_view(), name="task_done"),
    path("tickets/", views.TicketListView.as_view(), name="ticket_list"),
    path("tickets/new/", views.TicketCreateView.as_view(), name="ticket_create"),
    path("tickets/<int:pk>/", views.TicketDetailView.as_view(), name="ticket_detail"),
    path("tickets/<int:pk>/move/", views.TicketMoveView.as_view(), name="ticket_move"),
    path("tickets/<int:pk>/comment/", views.TicketCommentView.as_view(), name="ticket_comment"),
    path("tickets/<int:pk>/edit/", views.TicketUpdateView.as_view(), name="ticket_update"),
]
