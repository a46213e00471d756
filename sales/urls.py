from django.urls import path

from sales import contract_views, performance_views, pipeline_views, views

app_name = "sales"

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product_list"),
    path("products/new/", views.ProductFormView.as_view(), name="product_create"),
    path("products/<int:pk>/edit/", views.ProductFormView.as_view(), name="product_update"),
    path("orders/", views.OrderListView.as_view(), name="order_list"),
    path("orders/new/", views.OrderCreateView.as_view(), name="order_create"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/edit/", views.OrderUpdateView.as_view(), name="order_update"),
    path("orders/<int:pk>/status/", views.OrderStatusView.as_view(), name="order_status"),
    path("orders/<int:pk>/refunds/", views.RefundCreateView.as_view(), name="refund_create"),
    path("pipeline/", pipeline_views.PipelineView.as_view(), name="pipeline"),
    path("opportunities/", pipeline_views.OpportunityListView.as_view(), name="opportunity_list"),
    path(
        "opportunities/new/",
        pipeline_views.OpportunityCreateView.as_view(),
        name="opportunity_create",
    ),
    path(
        "opportunities/<int:pk>/",
        pipeline_views.OpportunityDetailView.as_view(),
        name="opportunity_detail",
    ),
    path(
        "opportunities/<int:pk>/edit/",
        pipeline_views.OpportunityUpdateView.as_view(),
        name="opportunity_update",
    ),
    path(
        "opportunities/<int:pk>/move/",
        pipeline_views.OpportunityMoveView.as_view(),
        name="opportunity_move",
    ),
    path("competitors/", pipeline_views.CompetitorListView.as_view(), name="competitor_list"),
    path("competitors/new/", pipeline_views.CompetitorFormView.as_view(), name="competitor_create"),
    path(
        "competitors/<int:pk>/",
        pipeline_views.CompetitorDetailView.as_view(),
        name="competitor_detail",
    ),
    path(
        "competitors/<int:pk>/edit/",
        pipeline_views.CompetitorFormView.as_view(),
        name="competitor_update",
    ),
    path("contracts/", contract_views.ContractListView.as_view(), name="contract_list"),
    path("contracts/new/", contract_views.ContractCreateView.as_view(), name="contract_create"),
    path(
        "contracts/<int:pk>/", contract_views.ContractDetailView.as_view(), name="contract_detail"
    ),
    path(
        "contracts/<int:pk>/edit/",
        contract_views.ContractUpdateView.as_view(),
        name="contract_update",
    ),
    path(
        "contracts/<int:pk>/status/",
        contract_views.ContractStatusView.as_view(),
        name="contract_status",
    ),
    path(
        "contracts/<int:pk>/file/", contract_views.ContractFileView.as_view(), name="contract_file"
    ),
    path("performance/", performance_views.PerformanceView.as_view(), name="performance"),
    path("targets/", performance_views.TargetsView.as_view(), name="targets"),
]
